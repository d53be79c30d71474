using System.Diagnostics;

namespace PSContainers.Engine.Tests.Support;

/// <summary>Test programs in C, linked statically so they run in an empty root; the test is skipped where cc cannot.</summary>
public static class StaticProgram
{
    /// <summary>Compiles <paramref name="source"/> into <paramref name="binary"/> (the source itself stays outside).</summary>
    public static string Build(string binary, string source)
    {
        string file = Path.Combine(Path.GetTempPath(), "psc-test-" + Guid.NewGuid().ToString("N")[..8] + ".c");
        File.WriteAllText(file, source);
        try
        {
            using var cc = Process.Start(new ProcessStartInfo("cc", new[] { "-static", "-O2", "-o", binary, file }) { RedirectStandardError = true })!;
            string err = cc.StandardError.ReadToEnd();
            cc.WaitForExit();
            Skip.If(cc.ExitCode != 0, "cannot build a static program (is libc6-dev installed?): " + err.Trim());
            return binary;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
