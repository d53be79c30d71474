namespace PSContainers.Tests.Module;

/// <summary>Where the repository and the built module are.</summary>
internal static class Repo
{
    public static string Root { get; } = Find();

    public static string Out => Path.Combine(Root, "out");

    /// <summary>out/PSContainers/&lt;version&gt;/PSContainers.psd1, the folder Import-Module loads as it is.</summary>
    public static string Manifest
    {
        get
        {
            var found = Directory.GetFiles(Path.Combine(Out, "PSContainers"), "PSContainers.psd1", SearchOption.AllDirectories);
            Assert.True(found.Length == 1, $"expected one built module under {Out}/PSContainers, found {found.Length}");
            return found[0];
        }
    }

    public static string ModuleDir => Path.GetDirectoryName(Manifest)!;

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PSContainers.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("PSContainers.sln not found above " + AppContext.BaseDirectory);
    }
}
