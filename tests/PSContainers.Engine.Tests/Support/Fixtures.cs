namespace PSContainers.Engine.Tests.Support;

/// <summary>Locates the repository and the shared fixture trees of real cgroup files.</summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/fixtures beside the repository (CI clones main with shared/ next to it).</summary>
    public static string Dir(string name)
    {
        string? env = Environment.GetEnvironmentVariable("PSCONTAINERS_FIXTURES");
        string root = env ?? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));
        string dir = Path.Combine(root, name);
        if (!Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"Fixture directory {dir} is missing: the tests need ../shared/fixtures beside the repository (or PSCONTAINERS_FIXTURES).");
        }
        return dir;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PSContainers.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("PSContainers.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Copies a directory tree (fixture files are small).</summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (string dir in Directory.GetDirectories(from))
        {
            CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}

/// <summary>A temporary directory removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "psc-test-" + Guid.NewGuid().ToString("N")[..8]));

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
