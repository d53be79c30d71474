using System.Diagnostics;
using System.Security.Cryptography;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;

namespace PSContainers.Engine.Tests.Containers;

/// <summary>The security basics a container promises (docs/security.md names the test behind each line).</summary>
public class SecurityTests
{
    [SkippableFact]
    public unsafe void TheProgramInheritsNoDescriptorOfTheSessionAndNoBlockedOrIgnoredSignal()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string secret = Path.Combine(dir.Path, "session-secret");
        File.WriteAllText(secret, "not for containers");
        // A descriptor the session opened without O_CLOEXEC, before the launcher that starts the container exists.
        int fd;
        fixed (byte* path = System.Text.Encoding.UTF8.GetBytes(secret + "\0"))
        {
            fd = Tmds.Linux.LibC.open(path, Tmds.Linux.LibC.O_RDONLY);
        }
        Assert.True(fd > 2);
        try
        {
            Launcher.CloseIdleLaunchers();
            h.Manager.Create(new ContainerManager.Request { Name = "fds", FilePath = "/bin/sleep", ArgumentList = new[] { "300" } });
            var c = h.Manager.Start("fds");
            int main = c.Pid!.Value, init = c.InitPid!.Value;
            Thread.Sleep(300); // sleep(1) itself may hold a file open for a moment while it starts; a leak stays
            var fds = Directory.GetFileSystemEntries($"/proc/{main}/fd").Order().ToArray();
            Assert.True(fds.Select(Path.GetFileName).SequenceEqual(new[] { "0", "1", "2" }),
                "the program's descriptors: " + string.Join(", ", fds.Select(f => $"{Path.GetFileName(f)} -> {new FileInfo(f).LinkTarget}")));
            foreach (int pid in new[] { init, main })
            {
                foreach (string link in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
                {
                    Assert.NotEqual(secret, new FileInfo(link).LinkTarget);
                }
            }
            string[] status = File.ReadAllLines($"/proc/{main}/status");
            Assert.Contains("SigBlk:\t0000000000000000", status);
            Assert.Contains("SigIgn:\t0000000000000000", status);
        }
        finally
        {
            Tmds.Linux.LibC.close(fd);
        }
    }

    [SkippableFact]
    public void PscInitCannotBeOverwrittenFromInsideThroughProcExe()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string rootfs = Path.Combine(dir.Path, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "proc"));
        // Inside its own root the container cannot name psc-init's file; /proc/1/exe still leads to it.
        StaticProgram.Build(Path.Combine(rootfs, "attack"), "#include <errno.h>\n#include <fcntl.h>\n#include <stdio.h>\n#include <unistd.h>\n" +
            "int main(void){int fd=open(\"/proc/1/exe\",O_WRONLY|O_APPEND);if(fd<0){printf(\"open %d\\n\",errno);return 0;}" +
            "printf(\"write %d\\n\",(int)write(fd,\"pwned\",5));return 1;}\n");
        byte[] before = SHA256.HashData(File.ReadAllBytes(Launcher.InitPath));
        h.Manager.Create(new ContainerManager.Request { Name = "exe", FilePath = "/attack", RootPath = rootfs });
        h.Manager.Start("exe");
        var c = h.Manager.Wait("exe", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(0, c.ExitCode);
        Assert.Equal("open 26", h.Stdout("exe").Single()); // ETXTBSY: the kernel refuses writes to a running program
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(Launcher.InitPath)));
    }

    [Trait("Layout", "cgroup")]
    [SkippableFact]
    public void TheDepotAndTheCGroupsOfAContainerAreWritableOnlyByTheirOwner()
    {
        using var h = new ContainerHost();
        h.Run("modes", "sleep 300");
        const UnixFileMode others = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        string entry = h.Manager.Depot.PathOf("modes");
        foreach (string path in new[] { h.Manager.Depot.Root, entry }.Concat(Directory.GetFiles(entry)))
        {
            Assert.True((File.GetUnixFileMode(path) & others) == 0, $"{path} is writable by group or others: {File.GetUnixFileMode(path)}");
        }
        foreach (var tree in h.Manager.CGroups.Trees)
        {
            string cg = tree.FullPath(h.Root + "/modes");
            Assert.True((File.GetUnixFileMode(cg) & others) == 0, $"{cg}: {File.GetUnixFileMode(cg)}");
            foreach (string file in new[] { "cgroup.procs" }.Select(f => Path.Combine(cg, f)))
            {
                Assert.True((File.GetUnixFileMode(file) & others) == 0, $"{file}: {File.GetUnixFileMode(file)}");
            }
        }
    }
}
