using System.Diagnostics;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;
using PSContainers.Processes;

namespace PSContainers.Engine.Tests.Containers;

/// <summary>
/// What every container with a root gets inside (psc-init/rootfs.c): /proc, a minimal /dev, /sys read-only, /tmp and
/// the container's /etc/hosts, /etc/hostname and /etc/resolv.conf, made in its own mount namespace; on the host the
/// root's folder gains only the mount points it lacked, and nothing stays mounted.
/// </summary>
[Trait("Layout", "storage")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels (overlay, loop, ext4 there too)
public class RootFsTests
{
    private const string Checks =
        "echo pid $$ $(cat /proc/1/comm); " +
        "echo x > /dev/null && echo null-ok; " +
        "head -c 3 /dev/zero | od -An -tx1 | tr -d ' \\n'; echo; " +
        "(echo x > /dev/full) 2>&1; " +
        "head -c 16 /dev/urandom | wc -c; head -c 16 /dev/random | wc -c; " +
        "stat -c 'console %t,%T' /dev/console; readlink /dev/ptmx; readlink /dev/fd; readlink /dev/stdin; ls /dev/pts; " +
        "touch /dev/shm/x && echo shm-ok; stat -c 'shm %a' /dev/shm; " +
        "(touch /sys/x) 2>&1; (echo 1 > /sys/kernel/profiling) 2>&1; " +
        "stat -c 'tmp %a' /tmp; touch /tmp/x && echo tmp-ok; " +
        "cat /etc/hostname; grep -c psc-rootfs /etc/hosts; grep -c nameserver /etc/resolv.conf";

    /// <summary>A root with only /bin: a static busybox and a link per applet.</summary>
    internal static string BusyboxRoot(string dir)
    {
        Skip.IfNot(File.Exists("/usr/bin/busybox"), "needs /usr/bin/busybox (the busybox-static package)");
        string root = Path.Combine(dir, "rootfs");
        string bin = Path.Combine(root, "bin");
        Directory.CreateDirectory(bin);
        File.Copy("/usr/bin/busybox", Path.Combine(bin, "busybox"));
        using var list = Process.Start(new ProcessStartInfo("/usr/bin/busybox", "--list") { RedirectStandardOutput = true })!;
        foreach (string applet in list.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (applet != "busybox")
            {
                File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
            }
        }
        list.WaitForExit();
        return root;
    }

    /// <summary>Every entry below <paramref name="root"/> with its type and mode, as the host sees it.</summary>
    private static SortedSet<string> Listing(string root) => new(
        new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories)
            .Select(i => $"{Path.GetRelativePath(root, i.FullName)} {(i.LinkTarget is not null ? "link" : i is DirectoryInfo ? "dir" : "file")} {Convert.ToString((int)i.UnixFileMode, 8)}"),
        StringComparer.Ordinal);

    private static string[] MountsUnder(string path) =>
        File.ReadAllLines("/proc/self/mountinfo").Where(l => l.Contains(path, StringComparison.Ordinal)).ToArray();

    private static string[] Run(ContainerHost h, string name, string root, string script, ContainerIsolation isolation)
    {
        h.Manager.Create(new ContainerManager.Request { Name = name, FilePath = "/bin/sh", ArgumentList = new[] { "-c", script }, RootPath = root, Isolation = isolation });
        h.Manager.Start(name);
        var c = h.Manager.Wait(name, TimeSpan.FromMinutes(1), CancellationToken.None);
        var err = Init.OutputRecords.Stream(h.Manager.Depot.PathOf(name), 'e');
        Assert.True(c.ExitCode == 0, $"exit {c.ExitCode}: {err}");
        return (Init.OutputRecords.Stream(h.Manager.Depot.PathOf(name), 'o') + err).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [SkippableFact]
    public void ARootWithOnlyBinGetsProcDevSysTmpAndItsOwnEtcFilesAndTheFolderGainsOnlyMountPoints()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        var before = Listing(root);
        Assert.Empty(MountsUnder(dir.Path));

        var lines = Run(h, "psc-rootfs", root, Checks, ContainerIsolation.Default);

        Assert.Equal("pid 2 psc-init", lines[0]);                         // its own /proc, of its own PID namespace (the init is 1)
        Assert.Contains("null-ok", lines);
        Assert.Contains("000000", lines);                                 // /dev/zero
        Assert.Contains(lines, l => l.Contains("No space left on device", StringComparison.Ordinal)); // /dev/full
        Assert.Equal(2, lines.Count(l => l == "16"));                     // /dev/urandom, /dev/random
        Assert.Contains("console 1,3", lines);                            // bound to /dev/null, never the host's console
        Assert.Contains("pts/ptmx", lines);
        Assert.Contains("/proc/self/fd", lines);
        Assert.Contains("/proc/self/fd/0", lines);
        Assert.Contains("ptmx", lines);                                   // its own devpts: no pty of the host's in it
        Assert.DoesNotContain("0", lines);
        Assert.Contains("shm-ok", lines);
        Assert.Contains("shm 1777", lines);
        Assert.Equal(2, lines.Count(l => l.Contains("Read-only file system", StringComparison.Ordinal))); // /sys
        Assert.Contains("tmp 1777", lines);
        Assert.Contains("tmp-ok", lines);
        Assert.Contains("psc-rootfs", lines);                             // /etc/hostname
        Assert.Equal(File.ReadAllLines("/etc/resolv.conf").Count(l => l.StartsWith("nameserver", StringComparison.Ordinal)).ToString(System.Globalization.CultureInfo.InvariantCulture), lines[^1]);
        Assert.Equal("1", lines[^2]);                                     // /etc/hosts names the container

        // On the host: nothing mounted, and the folder changed only by the mount points it lacked (empty).
        Assert.Empty(MountsUnder(dir.Path));
        var after = Listing(root);
        after.ExceptWith(before);
        Assert.Equal(new[]
        {
            "dev dir 755", "etc dir 755", "etc/hostname file 644", "etc/hosts file 644", "etc/resolv.conf file 644",
            "proc dir 555", "sys dir 555", "tmp dir 1777", "tmp/x file 644",
        }, after.ToArray());
        Assert.All(new[] { "hosts", "hostname", "resolv.conf" }, f => Assert.Equal(0, new FileInfo(Path.Combine(root, "etc", f)).Length));
        Assert.Equal("psc-rootfs\n", File.ReadAllText(Path.Combine(h.Manager.Depot.PathOf("psc-rootfs"), "etc", "hostname")));
    }

    [SkippableFact]
    public void WithAUserNamespaceSysIsTheHostsBoundReadOnlyAndEverythingElseStillWorks()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        // Without a network namespace of its own the kernel refuses a sysfs: the host's /sys is bound, read-only
        // with every mount below it (a writable cgroupfs under it would let the container change the host's cgroups).
        string script = Checks + "; (mkdir /sys/fs/cgroup/psc-rootfs-x) 2>&1; ls /sys/fs/cgroup | wc -l";
        var lines = Run(h, "userns", root, script, ContainerIsolation.Default | ContainerIsolation.User);
        Assert.Equal("pid 2 psc-init", lines[0]);
        Assert.Contains("null-ok", lines);
        Assert.Contains("000000", lines);
        Assert.Contains(lines, l => l.Contains("No space left on device", StringComparison.Ordinal));
        Assert.Contains("shm-ok", lines);
        Assert.Contains("tmp 1777", lines);
        Assert.Equal(3, lines.Count(l => l.Contains("Read-only file system", StringComparison.Ordinal)));
        Assert.NotEqual("0", lines[^1]);                                  // the host's cgroup mounts are there, read-only
        Assert.Empty(MountsUnder(dir.Path));

        // With a network namespace of its own, a sysfs of its own (read-only) and no loopback nameserver.
        var own = Run(h, "userns-net", root, Checks + "; grep -c '^nameserver *127\\.' /etc/resolv.conf || true",
            ContainerIsolation.Default | ContainerIsolation.User | ContainerIsolation.Network);
        Assert.Equal("pid 2 psc-init", own[0]);
        Assert.Equal(2, own.Count(l => l.Contains("Read-only file system", StringComparison.Ordinal)));
        Assert.Equal("0", own[^1]);
    }

    [SkippableFact]
    public void ProcessesStartedLaterSeeTheSameMountsAndATerminalComesFromTheContainersDevpts()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        h.Manager.Create(new ContainerManager.Request { Name = "later", FilePath = "/bin/sleep", ArgumentList = new[] { "300" }, RootPath = root });
        h.Manager.Start("later");
        var o = new List<string>();
        int code = ContainerExec.Run(h.Manager, "later", "/bin/sh", new[] { "-c", "cat /etc/hostname; stat -c %a /tmp; (touch /sys/x) 2>&1; readlink /dev/ptmx; cat /proc/2/comm" },
            null, null, null, o.Add, o.Add, CancellationToken.None);
        Assert.Equal(0, code);
        Assert.Equal(new[] { "later", "1777", "touch: /sys/x: Read-only file system", "pts/ptmx", "sleep" }, o);

        ContainerProcess p = h.Manager.StartProcess(new ContainerExecRequest
        {
            Name = "later", FilePath = "/bin/sh", ArgumentList = new[] { "-c", "tty; ls -1 /dev/pts; [ -t 0 ] && echo stdin-is-tty" }, Tty = true,
        });
        p = h.Manager.WaitProcess("later", p.Id, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(0, p.ExitCode);
        var lines = h.Manager.ProcessOutput("later", p.Id).ReadNew(final: true).Select(l => l.Line).ToArray();
        Assert.Equal(new[] { "/dev/pts/0", "0", "ptmx", "stdin-is-tty" }, lines);
    }

    [SkippableFact]
    public void LinksInTheRootNeverMakeTheMountPointsOrMountsLandOnTheHost()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        using var hostDir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        // /etc an absolute link to a host folder (empty, where the mount points would be made), /tmp a relative link
        // climbing out of the root, /sys a link to /: each resolves inside the root.
        Directory.CreateDirectory(Path.Combine(root, "data", "tmp"));
        File.CreateSymbolicLink(Path.Combine(root, "etc"), hostDir.Path);
        File.CreateSymbolicLink(Path.Combine(root, "tmp"), "../../../../../../../../data/tmp");
        File.CreateSymbolicLink(Path.Combine(root, "sys"), "/");
        Assert.False(Directory.Exists("/data/tmp"));
        var e = Assert.Throws<PscException>(() =>
        {
            h.Manager.Create(new ContainerManager.Request { Name = "escape", FilePath = "/bin/true", RootPath = root });
            h.Manager.Start("escape");
        });
        Assert.Contains("mount_point", e.Message, StringComparison.Ordinal); // /etc leads nowhere inside the root
        Assert.Empty(Directory.EnumerateFileSystemEntries(hostDir.Path));
        Assert.Empty(MountsUnder(dir.Path));
        Assert.Empty(MountsUnder(hostDir.Path));
        // With /etc a link that resolves inside the root, the files land there.
        File.Delete(Path.Combine(root, "etc"));
        File.Delete(Path.Combine(root, "sys"));
        Directory.CreateDirectory(Path.Combine(root, "data", "etc"));
        File.CreateSymbolicLink(Path.Combine(root, "etc"), "/data/etc");
        var lines = Run(h, "inside", root, "cat /etc/hostname; touch /tmp/x; ls /data/tmp", ContainerIsolation.Default);
        Assert.Equal(new[] { "inside", "x" }, lines);
        Assert.True(File.Exists(Path.Combine(root, "data", "etc", "hostname")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(hostDir.Path));
        Assert.Empty(MountsUnder(dir.Path));
    }

    [SkippableFact]
    public void ResolvConfDropsLoopbackNameserversOnlyForAContainerWithItsOwnNetwork()
    {
        const string host = "# from the host\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nsearch example.org\n";
        Assert.Equal(host, EtcFiles.ResolvConf(host, ownNetwork: false));
        Assert.Equal("# from the host\nnameserver 10.0.0.2\nsearch example.org\n", EtcFiles.ResolvConf(host, ownNetwork: true));
        // Only systemd-resolved's stub: its upstream servers instead; without any, nothing is made up.
        const string stub = "nameserver 127.0.0.53\nsearch example.org\n";
        Assert.Equal("nameserver 192.0.2.53\n", EtcFiles.ResolvConf(stub, ownNetwork: true, upstream: "nameserver 192.0.2.53\n"));
        Assert.Equal("search example.org\n", EtcFiles.ResolvConf(stub, ownNetwork: true, upstream: ""));
        Assert.Equal("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb\n", EtcFiles.Hosts("web"));
    }

    [SkippableFact]
    public void UsersResolveFromTheRootsOwnPasswdEvenThroughLinksThatWouldLeaveIt()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "rootfs");
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "data"));
        File.WriteAllText(Path.Combine(root, "data", "passwd"), "worker:x:1234:1234::/:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "data", "group"), "staff:x:50:worker\n");
        // Absolute links: on the host /data/passwd is not there; inside the root it is the root's own file.
        File.CreateSymbolicLink(Path.Combine(root, "etc", "passwd"), "/data/passwd");
        File.CreateSymbolicLink(Path.Combine(root, "etc", "group"), "/../../../../data/group");
        Assert.False(File.Exists("/data/passwd"));
        var (uid, gid, groups) = Users.Resolve("worker", root);
        Assert.Equal((1234, 1234), (uid, gid));
        Assert.Equal(new[] { 50 }, groups);

        // A link that climbs out of the root would reach the host's /etc/passwd (which has root and daemon): inside
        // the root ".." stops at its top, so it is the root's own /etc/passwd - the link itself, which leads nowhere.
        File.Delete(Path.Combine(root, "etc", "passwd"));
        File.CreateSymbolicLink(Path.Combine(root, "etc", "passwd"), "../../../../../../../../../etc/passwd");
        Assert.Contains("root:", File.ReadAllText(Path.Combine(root, "etc", "passwd"))); // what the host would read
        var e = Assert.Throws<PscException>(() => Users.Resolve("root", root));
        Assert.Equal("UserNotFound", e.ErrorId);
    }
}
