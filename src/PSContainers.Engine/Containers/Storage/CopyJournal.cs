using System.Globalization;
using System.Text;
using System.Text.Json;
using PSContainers.Native;
using PSContainers.Processes;
using static Tmds.Linux.LibC;

namespace PSContainers.Containers;

/// <summary>
/// Where a copy keeps the temporaries it makes, so that a session killed during the copy leaves nothing another
/// session cannot clean: &lt;depot entry&gt;/copy-&lt;pid&gt;-&lt;n&gt;.journal, locked (flock, exclusive) for the copy's
/// life. Its first line names the root the copy wrote in (the init's pid and start time while it ran); each further
/// line one temporary, recorded before it is made: "c" and a container path, or "h" and a host path (a copy out).
/// A copy that ends, however it ends, deletes its journal. <see cref="Sweep"/> (the next copy into that container,
/// Remove-Container, the depot's stale sweep) removes what the journals whose lock is free still name: each path is
/// resolved again (a container path in the container's root, never leaving it), its last name must be a
/// ".psc-copy-" name, and it is removed through descriptors, no link followed.
/// </summary>
internal sealed class CopyJournal : IDisposable
{
    private const string Prefix = "copy-", Suffix = ".journal", Staging = ".copy-";
    private static int _serial;
    private readonly FileStream _file;
    private readonly string _path;

    private CopyJournal(FileStream file, string path) => (_file, _path) = (file, path);

    /// <summary>A journal for a copy in container <paramref name="name"/>, whose root is its init's (pid, start ticks) or its root folder (null).</summary>
    public static CopyJournal Open(ContainerManager m, string name, (int Pid, ulong Ticks)? init)
    {
        string dir = m.Depot.PathOf(name);
        string stem = $"{Environment.ProcessId}-{Interlocked.Increment(ref _serial)}";
        string staging = Path.Combine(dir, $"{Staging}{stem}.tmp");
        string path = Path.Combine(dir, $"{Prefix}{stem}{Suffix}");
        try
        {
            // FileShare.None: .NET holds flock(LOCK_EX) on it until it is closed (or the process ends).
            var file = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
            try
            {
                file.Write(Encoding.UTF8.GetBytes(init is { } i ? $"root {i.Pid} {i.Ticks}\n" : "root -\n"));
                File.Move(staging, path); // whole before it is seen; the lock goes with the open file
                return new CopyJournal(file, path);
            }
            catch
            {
                file.Dispose();
                File.Delete(staging);
                throw;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Depot.Failure("CopyJournal", path, e);
        }
    }

    /// <summary>Records a temporary before it is made: in the container (a container path) or on the host.</summary>
    public void Record(bool inContainer, string path) =>
        _file.Write(Encoding.UTF8.GetBytes((inContainer ? "c " : "h ") + JsonSerializer.Serialize(path) + "\n"));

    public void Dispose()
    {
        ContainerManager.TryQuietly(() => File.Delete(_path)); // (gone with its entry when the container was removed meanwhile)
        _file.Dispose();
    }

    /// <summary>Removes the temporaries of container <paramref name="name"/>'s journals that no live copy holds, and those journals. Best effort.</summary>
    public static void Sweep(ContainerManager m, string name, ContainerSpec? spec)
    {
        string dir = m.Depot.PathOf(name);
        if (!Directory.Exists(dir))
        {
            return;
        }
        // One listing of the entry (the depot's stale sweep runs this for every container).
        string[] found = Directory.GetFiles(dir, "*" + Prefix + "*");
        foreach (string staging in found.Where(f => Path.GetFileName(f).StartsWith(Staging, StringComparison.Ordinal) && f.EndsWith(".tmp", StringComparison.Ordinal)))
        {
            // Killed before its journal had a name (and so before any temporary): gone with its process.
            string stem = Path.GetFileName(staging)[Staging.Length..];
            if (int.TryParse(stem[..Math.Max(stem.IndexOf('-'), 0)], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && pid != Environment.ProcessId && !Directory.Exists("/proc/" + pid))
            {
                ContainerManager.TryQuietly(() => File.Delete(staging));
            }
        }
        foreach (string path in found.Where(f => Path.GetFileName(f).StartsWith(Prefix, StringComparison.Ordinal) && f.EndsWith(Suffix, StringComparison.Ordinal)))
        {
            FileStream file;
            try
            {
                file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            }
            catch (IOException)
            {
                continue; // a copy in progress holds it (or it went meanwhile)
            }
            using (file)
            {
                string[] lines = new StreamReader(file, Encoding.UTF8).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
                RootedPath? root = null;
                try
                {
                    foreach (string line in lines.Skip(1))
                    {
                        ContainerManager.TryQuietly(() =>
                        {
                            bool inContainer = line.StartsWith("c ", StringComparison.Ordinal);
                            string? temporary = JsonSerializer.Deserialize<string>(line[2..]);
                            if (temporary is null)
                            {
                                return;
                            }
                            if (inContainer)
                            {
                                root ??= OpenRoot(lines.Length > 0 ? lines[0] : "", spec, name);
                                if (root is not null)
                                {
                                    Remove(root, temporary, m, name);
                                }
                            }
                            else
                            {
                                using RootedPath host = RootedPath.Host();
                                Remove(host, temporary, m, name);
                            }
                        });
                    }
                }
                finally
                {
                    root?.Dispose();
                }
                ContainerManager.TryQuietly(() => File.Delete(path));
            }
        }
    }

    /// <summary>The root the journal's copy wrote in: its init's while that still runs, else the container's root folder, else the host's "/" (a container without a root of its own).</summary>
    private static RootedPath? OpenRoot(string header, ContainerSpec? spec, string name)
    {
        string[] f = header.Split(' ');
        if (f.Length == 3 && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            && ulong.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong ticks) && PidHandle.IsAlive(pid, ticks))
        {
            try
            {
                var root = RootedPath.Container($"/proc/{pid}/root", $"container '{name}'");
                if (PidHandle.IsAlive(pid, ticks))
                {
                    return root;
                }
                root.Dispose();
            }
            catch (PscException)
            {
                // ended meanwhile
            }
        }
        return spec is null ? null : RootedPath.Container(spec.RootPath ?? "/", $"container '{name}'");
    }

    private static void Remove(RootedPath root, string temporary, ContainerManager m, string name)
    {
        string[] names = RootedPath.Names(temporary);
        if (names.Length == 0 || !names[^1].StartsWith(".psc-copy-", StringComparison.Ordinal))
        {
            return;
        }
        int folder = root.OpenFolder(names, names.Length - 1);
        if (folder < 0)
        {
            return;
        }
        try
        {
            if (Files.Lstat(folder, names[^1], out _) == 0)
            {
                m.Log?.Invoke($"removing '{temporary}', left by a copy in container '{name}' that was cut short");
                Files.RemoveTree(folder, names[^1]);
            }
        }
        finally
        {
            close(folder);
        }
    }
}
