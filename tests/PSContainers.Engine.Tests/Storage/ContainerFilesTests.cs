using System.Runtime.InteropServices;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.Storage;

/// <summary>
/// Copy-ContainerItem's engine (ContainerManager.CopyIn/CopyOut) on real containers with a busybox root: trees go in
/// and out whole (contents, modes, times, links as links), every container path stays in the container's root
/// (a link to "/", a link swapped during the copy, links to host files), and a failure or a cancellation leaves
/// nothing half-written.
/// </summary>
[Trait("Layout", "storage")] // the VM lane runs them on pure cgroup v2 and pure v1 kernels (overlay, loop, ext4 there too)
public class ContainerFilesTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>A busybox root: /bin/busybox with sh, cat, sleep... links, /etc/passwd and /etc/group, /proc, /tmp.</summary>
    internal static string BusyboxRoot(string parent)
    {
        Skip.IfNot(File.Exists("/usr/bin/busybox"), "busybox-static is not installed (/usr/bin/busybox)");
        string root = Path.Combine(parent, "rootfs");
        foreach (string d in new[] { "bin", "etc", "proc", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(root, d));
        }
        File.Copy("/usr/bin/busybox", Path.Combine(root, "bin", "busybox"));
        foreach (string tool in new[] { "sh", "cat", "sleep", "ls", "stat", "id" })
        {
            File.CreateSymbolicLink(Path.Combine(root, "bin", tool), "busybox");
        }
        File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\napp:x:1500:1600::/:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\napp:x:1600:\nstaff:x:1700:app\n");
        return root;
    }

    private static Container Sleeper(ContainerHost h, string name, string? root, ContainerIsolation isolation = ContainerIsolation.Default)
    {
        h.Manager.Create(new ContainerManager.Request { Name = name, FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root, Isolation = isolation });
        return h.Manager.Start(name);
    }

    private static string Inside(ContainerHost h, string name, string script)
    {
        var o = new List<string>();
        int code = ContainerExec.Run(h.Manager, name, "/bin/sh", new[] { "-c", script }, null, null, null, o.Add, _ => { }, CancellationToken.None);
        Assert.Equal(0, code);
        return string.Join('\n', o);
    }

    private static Tmds.Linux.stat Lstat(string path)
    {
        Assert.Equal(0, Files.Lstat(-100 /* AT_FDCWD */, path, out Tmds.Linux.stat st));
        return st;
    }

    private static void NoTemporaries(string folder) =>
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder, ".psc-copy-*", SearchOption.AllDirectories));

    [SkippableFact]
    public void ATreeGoesInAndOutWithContentsModesTimesAndLinks()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        h.Manager.Create(new ContainerManager.Request { Name = "tree", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
        string src = Path.Combine(dir.Path, "src");
        Directory.CreateDirectory(Path.Combine(src, "sub", "deeper"));
        File.WriteAllText(Path.Combine(src, "file"), "contents\n");
        File.WriteAllBytes(Path.Combine(src, "sub", "deeper", "blob"), Enumerable.Range(0, 3_000_000).Select(i => (byte)(i * 7)).ToArray());
        File.SetUnixFileMode(Path.Combine(src, "file"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.SetUnixFileMode(Path.Combine(src, "sub"), (UnixFileMode)0x1E8 /* 0750 */);
        File.CreateSymbolicLink(Path.Combine(src, "rel"), "file");
        File.CreateSymbolicLink(Path.Combine(src, "abs"), "/etc/shadow");
        var old = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(src, "file"), old);
        Directory.SetLastWriteTimeUtc(Path.Combine(src, "sub"), old);

        // Created (never started): the root folder; "/data" does not exist: the folder is written under that name.
        var items = h.Manager.CopyIn("tree", new[] { src }, "/data", recurse: true);
        Assert.Equal("/data", Assert.Single(items).Path);
        Assert.Equal("Directory", items[0].ItemType);
        string inRoot = Path.Combine(root, "data");
        Assert.Equal("contents\n", File.ReadAllText(Path.Combine(inRoot, "file")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "sub", "deeper", "blob")), File.ReadAllBytes(Path.Combine(inRoot, "sub", "deeper", "blob")));
        Assert.Equal("file", new FileInfo(Path.Combine(inRoot, "rel")).LinkTarget);
        Assert.Equal("/etc/shadow", new FileInfo(Path.Combine(inRoot, "abs")).LinkTarget);
        Assert.Equal(0x1A0u, (uint)Lstat(Path.Combine(inRoot, "file")).st_mode & 0xFFF);
        Assert.Equal(0x1E8u, (uint)Lstat(Path.Combine(inRoot, "sub")).st_mode & 0xFFF);
        Assert.Equal(old, File.GetLastWriteTimeUtc(Path.Combine(inRoot, "file")));
        Assert.Equal(old, Directory.GetLastWriteTimeUtc(Path.Combine(inRoot, "sub")));

        // Out again, while it runs: the same tree on the host, the links as links (never followed on the host).
        h.Manager.Start("tree");
        string back = Path.Combine(dir.Path, "back");
        Assert.Equal(back, Assert.Single(h.Manager.CopyOut("tree", new[] { "/data" }, back, recurse: true)));
        Assert.Equal("contents\n", File.ReadAllText(Path.Combine(back, "file")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "sub", "deeper", "blob")), File.ReadAllBytes(Path.Combine(back, "sub", "deeper", "blob")));
        Assert.Equal("/etc/shadow", new FileInfo(Path.Combine(back, "abs")).LinkTarget);
        Assert.Equal(0x1A0u, (uint)Lstat(Path.Combine(back, "file")).st_mode & 0xFFF);
        Assert.Equal(old, File.GetLastWriteTimeUtc(Path.Combine(back, "file")));
        Assert.Equal(old, Directory.GetLastWriteTimeUtc(Path.Combine(back, "sub")));
        NoTemporaries(root);
        NoTemporaries(back);
    }

    [SkippableFact]
    public void ALinkToSlashInsideLandsInTheContainersTmpNotTheHosts()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        File.CreateSymbolicLink(Path.Combine(root, "escape"), "/");
        File.CreateSymbolicLink(Path.Combine(root, "up"), "../../../../..");
        string file = Path.Combine(dir.Path, "payload");
        File.WriteAllText(file, "payload");
        string unique = "psc-h3-escape-" + Guid.NewGuid().ToString("N")[..8];
        h.Manager.Create(new ContainerManager.Request { Name = "esc", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
        try
        {
            h.Manager.CopyIn("esc", new[] { file }, $"/escape/tmp/{unique}");
            h.Manager.CopyIn("esc", new[] { file }, $"/up/tmp/{unique}-up");
            h.Manager.CopyIn("esc", new[] { file }, $"../../../tmp/{unique}-dots");
            Assert.Equal("payload", File.ReadAllText(Path.Combine(root, "tmp", unique)));
            Assert.Equal("payload", File.ReadAllText(Path.Combine(root, "tmp", unique + "-up")));
            Assert.Equal("payload", File.ReadAllText(Path.Combine(root, "tmp", unique + "-dots")));
            Assert.False(File.Exists("/tmp/" + unique));
            Assert.False(File.Exists($"/tmp/{unique}-up"));
            Assert.False(File.Exists($"/tmp/{unique}-dots"));
            // Out through the same link: the container's file, not the host's /etc/passwd.
            string copy = Path.Combine(dir.Path, "passwd");
            h.Manager.CopyOut("esc", new[] { "/escape/etc/passwd" }, copy);
            Assert.Equal(File.ReadAllText(Path.Combine(root, "etc", "passwd")), File.ReadAllText(copy));
        }
        finally
        {
            foreach (string s in new[] { "", "-up", "-dots" })
            {
                File.Delete($"/tmp/{unique}{s}");
            }
        }
    }

    [SkippableFact]
    public void LinksToHostFilesAreCopiedAsLinksAndNeverReadOnTheHost()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        string secret = Path.Combine(dir.Path, "secret");
        File.WriteAllText(secret, "host secret");
        File.CreateSymbolicLink(Path.Combine(root, "shadow"), "/etc/shadow");
        File.CreateSymbolicLink(Path.Combine(root, "hostfile"), secret);
        File.WriteAllText(Path.Combine(dir.Path, "fakepasswd"), "intruder:x:4321:4321::/:/bin/sh\n");
        File.Delete(Path.Combine(root, "etc", "passwd"));
        File.CreateSymbolicLink(Path.Combine(root, "etc", "passwd"), Path.Combine(dir.Path, "fakepasswd"));
        h.Manager.Create(new ContainerManager.Request { Name = "links", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
        string outDir = Path.Combine(dir.Path, "out");
        Directory.CreateDirectory(outDir);
        h.Manager.CopyOut("links", new[] { "/shadow", "/hostfile" }, outDir);
        Assert.Equal("/etc/shadow", new FileInfo(Path.Combine(outDir, "shadow")).LinkTarget);
        Assert.Equal(secret, new FileInfo(Path.Combine(outDir, "hostfile")).LinkTarget);
        Assert.True(Lstat(Path.Combine(outDir, "hostfile")).st_size < 200);
        // /etc/passwd -> a host file: resolved in the root it leads nowhere, so the user is not found.
        string file = Path.Combine(dir.Path, "f");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<PscException>(() => h.Manager.CopyIn("links", new[] { file }, "/tmp/f", user: "intruder"));
        Assert.Equal("UserNotFound", e.ErrorId);
        Assert.False(File.Exists(Path.Combine(root, "tmp", "f")));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [SkippableFact]
    public void AFolderSwappedWithALinkDuringCopiesNeverLetsAFileOut()
    {
        // CVE-2018-15664: a folder of the container swapped with a link to a host folder while copies run through it.
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        string outside = Path.Combine(dir.Path, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "f"), "host's own");
        Directory.CreateDirectory(Path.Combine(root, "race"));
        File.WriteAllText(Path.Combine(root, "race", "f"), "container's");
        File.CreateSymbolicLink(Path.Combine(root, "swap"), outside); // an absolute host path: inside the root, nothing
        h.Manager.Create(new ContainerManager.Request { Name = "race", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
        string file = Path.Combine(dir.Path, "payload");
        File.WriteAllText(file, "payload");
        string back = Path.Combine(dir.Path, "back");
        using var stop = new CancellationTokenSource();
        int swaps = 0;
        var swapper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Assert.Equal(0, renameat2(-100, Path.Combine(root, "race"), -100, Path.Combine(root, "swap"), 2 /* RENAME_EXCHANGE */));
                Interlocked.Increment(ref swaps);
            }
        });
        SpinWait.SpinUntil(() => Volatile.Read(ref swaps) > 0 || swapper.IsCompleted, Minute);
        int copied = 0, refused = 0;
        for (int i = 0; i < 300; i++)
        {
            try
            {
                h.Manager.CopyIn("race", new[] { file }, $"/race/in{i}", force: true);
                h.Manager.CopyOut("race", new[] { "/race/f" }, back, force: true);
                Assert.Equal("container's", File.ReadAllText(back)); // never the host's file
                copied++;
            }
            catch (PscException)
            {
                refused++; // the link was there at that moment: it leads nowhere inside the root
            }
        }
        stop.Cancel();
        swapper.Wait();
        Assert.True(swaps > 100, $"only {swaps} swaps");
        Assert.True(copied > 0 && refused > 0, $"{copied} copied, {refused} refused: the race was not met");
        Assert.Equal(new[] { "f" }, Directory.GetFileSystemEntries(outside).Select(Path.GetFileName).ToArray());
        Assert.Equal("host's own", File.ReadAllText(Path.Combine(outside, "f")));
        Assert.True(copied + refused == 300);
    }

    [SkippableFact]
    public void MissingFoldersAndWhatIsWrittenBelongToTheUserFromTheRootsPasswd()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        h.Manager.Create(new ContainerManager.Request { Name = "owner", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
        string file = Path.Combine(dir.Path, "f");
        File.WriteAllText(file, "x");
        h.Manager.CopyIn("owner", new[] { file }, "/srv/a/b/f", user: "app");
        foreach (string p in new[] { "srv", "srv/a", "srv/a/b", "srv/a/b/f" })
        {
            var st = Lstat(Path.Combine(root, p));
            Assert.Equal((1500u, 1600u), ((uint)st.st_uid, (uint)st.st_gid));
        }
        h.Manager.CopyIn("owner", new[] { file }, "/srv/g", user: "app:staff");
        Assert.Equal(1700u, (uint)Lstat(Path.Combine(root, "srv", "g")).st_gid);
        h.Manager.CopyIn("owner", new[] { file }, "/srv/n", user: "42:43");
        Assert.Equal((42u, 43u), ((uint)Lstat(Path.Combine(root, "srv", "n")).st_uid, (uint)Lstat(Path.Combine(root, "srv", "n")).st_gid));
        Assert.Equal("UserNotFound", Assert.Throws<PscException>(() => h.Manager.CopyIn("owner", new[] { file }, "/srv/x", user: "nobody")).ErrorId);
        Assert.False(File.Exists(Path.Combine(root, "srv", "x")));
    }

    [SkippableFact]
    public void RunningPausedAndExitedContainersWithARootTakeCopies()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        string file = Path.Combine(dir.Path, "f");
        File.WriteAllText(file, "hello");
        Sleeper(h, "live", root);
        h.Manager.CopyIn("live", new[] { file }, "/tmp/running");
        Assert.Equal("hello", Inside(h, "live", "cat /tmp/running"));
        h.Manager.Suspend("live");
        h.Manager.CopyIn("live", new[] { file }, "/tmp/paused");
        h.Manager.CopyOut("live", new[] { "/tmp/running" }, Path.Combine(dir.Path, "fromPaused"));
        Assert.Equal("hello", File.ReadAllText(Path.Combine(dir.Path, "fromPaused")));
        h.Manager.Resume("live");
        Assert.Equal("hello", Inside(h, "live", "cat /tmp/paused"));
        h.Manager.Stop("live", TimeSpan.FromSeconds(5), force: true);
        Assert.Equal(ContainerState.Exited, h.Manager.Get("live").State);
        h.Manager.CopyIn("live", new[] { file }, "/tmp/exited");
        Assert.Equal("hello", File.ReadAllText(Path.Combine(root, "tmp", "exited")));
        h.Manager.CopyOut("live", new[] { "/tmp/paused" }, Path.Combine(dir.Path, "fromExited"));
        Assert.Equal("hello", File.ReadAllText(Path.Combine(dir.Path, "fromExited")));
    }

    [SkippableFact]
    public void ARunningContainerWithoutARootIsSeenThroughItsOwnMountNamespace()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        // Without a root the container sees the host's files through a private copy of the host's mounts: a mount
        // made inside it is its own, so a copy into that mount lands where only the container sees it.
        Sleeper(h, "rootless", null);
        Inside(h, "rootless", $"mkdir -p {dir.Path}/private && mount -t tmpfs psc-h3-tmp {dir.Path}/private");
        string file = Path.Combine(dir.Path, "f");
        File.WriteAllText(file, "through its view");
        h.Manager.CopyIn("rootless", new[] { file }, $"{dir.Path}/private/f");
        Assert.Equal("through its view", Inside(h, "rootless", $"cat {dir.Path}/private/f"));
        Assert.False(File.Exists(Path.Combine(dir.Path, "private", "f"))); // the host's folder under the mount is untouched
        h.Manager.CopyOut("rootless", new[] { $"{dir.Path}/private/f" }, Path.Combine(dir.Path, "back"));
        Assert.Equal("through its view", File.ReadAllText(Path.Combine(dir.Path, "back")));
        h.Manager.Stop("rootless", TimeSpan.FromSeconds(5), force: true);
        var e = Assert.Throws<PscException>(() => h.Manager.CopyIn("rootless", new[] { file }, "/tmp/f"));
        Assert.Equal(("ContainerNotRunning", ErrorKind.InvalidOperation), (e.ErrorId, e.Kind));
    }

    [SkippableFact]
    public void BadInputIsRefusedAndLeavesNothing()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        h.Manager.Create(new ContainerManager.Request { Name = "bad", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
        string file = Path.Combine(dir.Path, "f");
        File.WriteAllText(file, "new");
        File.WriteAllText(Path.Combine(root, "tmp", "there"), "old");
        Directory.CreateDirectory(Path.Combine(dir.Path, "folder"));

        PscException Fails(Action a, string id, ErrorKind kind)
        {
            var e = Assert.Throws<PscException>(a);
            Assert.Equal((id, kind), (e.ErrorId, e.Kind));
            return e;
        }
        Assert.Contains("nothere", Fails(() => h.Manager.CopyIn("bad", new[] { Path.Combine(dir.Path, "nothere") }, "/tmp"), "CopySourceNotFound", ErrorKind.ObjectNotFound).Message);
        Fails(() => h.Manager.CopyOut("bad", new[] { "/tmp/nothere" }, dir.Path), "CopySourceNotFound", ErrorKind.ObjectNotFound);
        Fails(() => h.Manager.CopyIn("bad", new[] { Path.Combine(dir.Path, "folder") }, "/tmp"), "CopyFolderNeedsRecurse", ErrorKind.InvalidArgument);
        Fails(() => h.Manager.CopyIn("bad", new[] { file }, "/tmp/there"), "CopyItemExists", ErrorKind.ResourceExists);
        Assert.Equal("old", File.ReadAllText(Path.Combine(root, "tmp", "there")));
        Fails(() => h.Manager.CopyIn("nosuch", new[] { file }, "/tmp"), "ContainerNotFound", ErrorKind.ObjectNotFound);
        Fails(() => h.Manager.CopyOut("bad", new[] { "/etc/passwd" }, file), "CopyItemExists", ErrorKind.ResourceExists);
        Assert.Equal("new", File.ReadAllText(file));
        h.Manager.CopyIn("bad", new[] { file }, "/tmp/there", force: true);
        Assert.Equal("new", File.ReadAllText(Path.Combine(root, "tmp", "there")));
        Assert.Equal(new[] { "there" }, Directory.GetFileSystemEntries(Path.Combine(root, "tmp")).Select(Path.GetFileName).ToArray());
        NoTemporaries(dir.Path);
    }

    [SkippableFact]
    public void AFullDiskAndACancellationLeaveNothingHalfWritten()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        string small = Path.Combine(root, "small");
        Directory.CreateDirectory(small);
        HostCommand.Run("mount", "-t", "tmpfs", "-o", "size=1m", "psc-h3-small", small);
        try
        {
            h.Manager.Create(new ContainerManager.Request { Name = "full", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
            string big = Path.Combine(dir.Path, "big");
            File.WriteAllBytes(big, new byte[3 << 20]);
            var e = Assert.Throws<PscException>(() => h.Manager.CopyIn("full", new[] { big }, "/small/big"));
            Assert.Equal("CopyWrite,ENOSPC", e.ErrorId);
            Assert.Contains("/small/big", e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(small));

            // Cancelled after the first chunk: the file being written is removed, nothing under its name.
            using var cancel = new CancellationTokenSource();
            Assert.Throws<OperationCanceledException>(() => h.Manager.CopyIn("full", new[] { big }, "/tmp/big",
                progress: p => { if (p.BytesDone > 0) cancel.Cancel(); }, cancel: cancel.Token));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(root, "tmp")));
        }
        finally
        {
            HostCommand.Run("umount", small);
        }
    }

    [SkippableFact]
    public void ACancellationInTheMiddleOfATreeKeepsTheFinishedItemsAndRemovesTheOneBeingWritten()
    {
        using var h = new ContainerHost();
        using var dir = new TempDir();
        string root = BusyboxRoot(dir.Path);
        h.Manager.Create(new ContainerManager.Request { Name = "stop", FilePath = "/bin/sleep", ArgumentList = new[] { "600" }, RootPath = root });
        // Six files of two chunks each into a folder that exists: each is written under a temporary name and renamed.
        string src = Path.Combine(dir.Path, "tree");
        Directory.CreateDirectory(src);
        const int size = 2 << 20;
        for (int i = 0; i < 6; i++)
        {
            File.WriteAllBytes(Path.Combine(src, $"f{i}"), Enumerable.Range(0, size).Select(b => (byte)(b + i)).ToArray());
        }
        string target = Path.Combine(root, "data", "tree");
        Directory.CreateDirectory(target);

        // As Ctrl+C does (the cmdlet's StopProcessing cancels the token): in the middle of the fourth file.
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => h.Manager.CopyIn("stop", new[] { src }, "/data", recurse: true,
            progress: p => { if (p.BytesDone >= 3L * size + (1 << 20)) cancel.Cancel(); }, cancel: cancel.Token));

        string[] written = Directory.GetFileSystemEntries(target).Select(Path.GetFileName).Order().ToArray()!;
        Assert.Equal(3, written.Length);
        foreach (string name in written)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(src, name)), File.ReadAllBytes(Path.Combine(target, name)));
        }
        NoTemporaries(root);
        Assert.Empty(Directory.GetFiles(h.Manager.Depot.PathOf("stop"), "*copy-*"));
    }
}
