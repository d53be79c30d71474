using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PSContainers.Bench;

/// <summary>hyperfine --export-json files: one per command, named &lt;label&gt;.json in one directory.</summary>
internal static class Hyperfine
{
    public static void Load(string dir, List<Row> rows)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }
        // The peers, then the cold pwsh rows from the least to the most work (bench/run.sh names the files).
        string[] order =
        {
            "floor", "floor-dyn", "unshare", "bwrap", "cgexec", "runc",
            "cold-pwsh -c exit", "cold-dotnet pwsh -c exit (tool shim)", "cold-pwsh module auto-load only", "cold-pwsh -c 'Start-Container -Wait'",
        };
        int Rank(string f) => Array.IndexOf(order, Path.GetFileNameWithoutExtension(f)) is int i and >= 0 ? i : order.Length;
        foreach (string file in Directory.GetFiles(dir, "*.json").OrderBy(Rank).ThenBy(f => f, StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
            {
                var ms = r.GetProperty("times").EnumerateArray().Select(t => t.GetDouble() * 1000).ToList();
                string label = Path.GetFileNameWithoutExtension(file);
                rows.Add(Stat.Row("hyperfine", label.StartsWith("cold-", StringComparison.Ordinal) ? "cold: " + label[5..] : label, ms));
            }
        }
    }
}

internal static class Report
{
    private static readonly string[] Groups = { "exec", "run", "exec-in", "cmdlet", "psc", "hyperfine", "stop", "stats", "memory", "scale" };

    private static readonly Dictionary<string, string> Titles = new()
    {
        ["exec"] = "1. start -> program running (exec), warm, same harness (Process.Start / engine call in one .NET process)",
        ["run"] = "1. start -> exit reaped (whole run), warm, same harness",
        ["exec-in"] = "1c. a process into a running container: call -> program's first instruction, warm, same harness",
        ["psc"] = "1. PSContainers engine steps",
        ["cmdlet"] = "3. cmdlet overhead (warm runspace)",
        ["hyperfine"] = "2. hyperfine (fork+exec from hyperfine, --shell=none; cold rows: new processes)",
        ["stop"] = "4. stop",
        ["stats"] = "5. stats",
        ["memory"] = "6. memory",
        ["scale"] = "7. scale",
    };

    private static readonly string[] Refs = { "floor", "unshare", "bwrap", "cgexec", "runc", "nsenter", "runc exec", "podman exec" };

    /// <summary>A table cell's text: a '|' in a name ("New|Start") would end the cell in Markdown.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string F(double v) => double.IsNaN(v) ? "-" : v >= 100 ? v.ToString("0", CultureInfo.InvariantCulture) : v >= 10 ? v.ToString("0.0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Table(List<Row> rows, List<string> goals, List<string> notes, Options o)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"PSContainers benchmark: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, iterations {o.Iterations} (+{o.Warmup} warm-up), interleaved; p50 = median, p99 = nearest rank; ratios are p50 / p50 of the same group.");
        sb.AppendLine();
        foreach (string g in Groups)
        {
            var rs = rows.Where(r => r.Group == g).ToList();
            if (rs.Count == 0)
            {
                continue;
            }
            bool ratios = g is "exec" or "run" or "exec-in" or "hyperfine";
            var refs = Refs.Select(n => (n, rs.FirstOrDefault(r => r.Name == n))).Where(x => x.Item2 is not null).ToList();
            sb.AppendLine($"### {Titles[g]}");
            sb.AppendLine();
            sb.Append("| what | n | p50 | p99 | unit |");
            if (ratios)
            {
                foreach (var (n, _) in refs)
                {
                    sb.Append($" x {n} |");
                }
            }
            sb.AppendLine(" note |");
            sb.Append("|---|--:|--:|--:|---|");
            if (ratios)
            {
                sb.Append(string.Concat(refs.Select(_ => "--:|")));
            }
            sb.AppendLine("---|");
            foreach (Row r in rs)
            {
                sb.Append($"| {Cell(r.Name)} | {r.N} | {F(r.P50)} | {F(r.P99)} | {r.Unit} |");
                if (ratios)
                {
                    foreach (var (_, refRow) in refs)
                    {
                        sb.Append($" {(refRow == r ? "1" : F(r.P50 / refRow!.P50))} |");
                    }
                }
                sb.AppendLine($" {Cell(r.Note)} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("### Goals of issue 5");
        sb.AppendLine();
        foreach (string goal in goals)
        {
            sb.AppendLine("- " + goal);
        }
        if (notes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("### Notes");
            sb.AppendLine();
            foreach (string n in notes)
            {
                sb.AppendLine("- " + n);
            }
        }
        return sb.ToString();
    }
}
