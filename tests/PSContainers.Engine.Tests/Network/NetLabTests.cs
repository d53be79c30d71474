using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.Network;

/// <summary>The network lab every network test stands on: reachable both ways, and nothing left after dispose.</summary>
public class NetLabTests
{
    [SkippableFact]
    public void HostReachesOutsideOverTheUplink()
    {
        using var lab = NetLab.Up();
        var route = lab.Run(LabSide.Host, "ip", "route", "show", "default");
        Assert.Contains($"default via {NetLab.OutsideAddress} dev uplink0", route.Stdout);
        if (File.Exists(TestImages.Busybox) || NetLab.OnPath("ping"))
        {
            var ping = File.Exists(TestImages.Busybox)
                ? lab.Run(LabSide.Host, TestImages.Busybox, "ping", "-c1", "-W1", NetLab.OutsideAddress)
                : lab.Run(LabSide.Host, "ping", "-c1", "-W1", NetLab.OutsideAddress);
            Assert.True(ping.Exit == 0, ping.Stdout + ping.Stderr);
        }
        else
        {
            Skip.IfNot(NetLab.OnPath("python3"), "needs busybox (busybox-static), ping or python3 to send a packet");
            lab.Start(LabSide.Outside, "python3", "-c",
                "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 5000)); s.listen(); c, _ = s.accept(); c.sendall(b'hi'); c.close()");
            lab.WaitForListener(LabSide.Outside, 5000, TimeSpan.FromSeconds(10));
            var tcp = lab.Run(LabSide.Host, "python3", "-c",
                $"import socket; s = socket.create_connection(('{NetLab.OutsideAddress}', 5000), timeout=2); print(s.recv(2).decode())");
            Assert.Equal("hi", tcp.Stdout.Trim());
        }
    }

    [SkippableFact]
    public void DisposeLeavesNoMountProcessOrFolder()
    {
        var lab = NetLab.Up();
        // A process the lab does not know about (not started through it): netlab.sh down finds and kills it.
        using var sleeper = System.Diagnostics.Process.Start("nsenter", new[] { "--net=" + lab.OutsideNetns, "--", "sleep", "600" });
        string dir = lab.Dir;
        Assert.Contains(dir + "/host", File.ReadAllText("/proc/self/mountinfo"));
        lab.Dispose();
        Assert.True(sleeper.WaitForExit(5000));
        Assert.DoesNotContain(dir, File.ReadAllText("/proc/self/mountinfo"));
        Assert.False(Directory.Exists(dir));
    }
}
