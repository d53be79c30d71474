using System.Text.Json;

namespace PSContainers.Engine.Tests.Support;

/// <summary>
/// Images made by hand in a store's layout (images/&lt;name&gt;/rootfs plus image.json, written last), from the
/// machine's static busybox. One place to swap for Import-ContainerImage once the store can import. The root has its
/// own /proc and /dev (with null and zero) since the init does not yet mount them in every root.
/// </summary>
public static class TestImages
{
    public static readonly string[] Applets = { "sh", "ls", "cat", "echo", "dd", "rm", "touch", "mkdir", "sleep", "true", "seq", "head", "wc", "stat", "test", "sync" };

    public static string Busybox => "/usr/bin/busybox";

    /// <summary>Skips the test where a busybox image cannot be made or mounted (no static busybox, overlayfs or loop devices).</summary>
    public static void SkipUnlessUsable(bool loop = false)
    {
        Skip.IfNot(File.Exists(Busybox), "needs /usr/bin/busybox (the busybox-static package) to make a test image");
        Skip.IfNot(File.ReadAllText("/proc/filesystems").Contains("overlay"), "needs overlayfs");
        if (loop)
        {
            Skip.IfNot(File.Exists("/dev/loop-control"), "needs loop devices (/dev/loop-control)");
            Skip.IfNot(File.ReadAllText("/proc/filesystems").Contains("ext4"), "needs ext4");
        }
    }

    /// <summary>Makes image <paramref name="name"/> in the store at <paramref name="storeRoot"/>; returns its rootfs.</summary>
    public static string Make(string storeRoot, string name)
    {
        string image = Path.Combine(storeRoot, "images", name);
        string rootfs = Path.Combine(image, "rootfs");
        foreach (string d in new[] { "bin", "proc", "dev", "etc", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, d));
        }
        File.Copy(Busybox, Path.Combine(rootfs, "bin", "busybox"));
        foreach (string applet in Applets)
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }
        HostCommand.Run("mknod", "-m", "666", Path.Combine(rootfs, "dev", "null"), "c", "1", "3");
        HostCommand.Run("mknod", "-m", "666", Path.Combine(rootfs, "dev", "zero"), "c", "1", "5");
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "group"), "root:x:0:\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "motd"), "from the image\n");
        long size = Directory.EnumerateFiles(rootfs, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).Where(f => f.LinkTarget is null).Sum(f => f.Length);
        File.WriteAllText(Path.Combine(image, "image.json"), JsonSerializer.Serialize(new
        {
            Name = name, Size = size, Created = DateTime.UtcNow, Source = Busybox, Layers = 1,
        }));
        return rootfs;
    }

    /// <summary>Loop devices whose backing file is under <paramref name="dir"/> (from /sys/block/loop*/loop/backing_file).</summary>
    public static List<string> LoopDevicesUnder(string dir)
    {
        var found = new List<string>();
        foreach (string block in Directory.EnumerateDirectories("/sys/block", "loop*"))
        {
            try
            {
                string backing = File.ReadAllText(Path.Combine(block, "loop", "backing_file")).Trim();
                if (backing.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal))
                {
                    found.Add(Path.GetFileName(block) + " " + backing);
                }
            }
            catch (IOException)
            {
                // not attached
            }
        }
        return found;
    }

    /// <summary>Every loop device attached now (names).</summary>
    public static HashSet<string> AttachedLoopDevices() =>
        Directory.EnumerateDirectories("/sys/block", "loop*").Where(b => File.Exists(Path.Combine(b, "loop", "backing_file")))
            .Select(Path.GetFileName).OfType<string>().ToHashSet();

    /// <summary>Mount points at or below <paramref name="dir"/> in this process's mount table.</summary>
    public static List<string> MountsUnder(string dir) =>
        File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4])
            .Where(p => p == dir || p.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal)).ToList();
}
