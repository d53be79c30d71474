using System.Globalization;
using System.Text;
using Xunit;

namespace PSContainers.Engine.Tests.Init;

/// <summary>
/// Reads an output.log as psc-init writes it, without the engine's reader (psc-init/README.md, "Output logs"):
/// records "o &lt;n&gt;\n" or "e &lt;n&gt;\n" followed by n bytes, output.log.1 (rotated away) before output.log.
/// </summary>
public static class OutputRecords
{
    /// <summary>Every whole record of the folder's logs, oldest first: ('o' or 'e', its bytes as UTF-8). A malformed
    /// header fails the test; a record still being written ends the file.</summary>
    public static List<(char Tag, string Text)> Read(string dir)
    {
        var records = new List<(char, string)>();
        foreach (string file in new[] { Path.Combine(dir, "output.log.1"), Path.Combine(dir, "output.log") })
        {
            if (!File.Exists(file))
            {
                continue;
            }
            byte[] data = File.ReadAllBytes(file);
            for (int pos = 0; pos < data.Length;)
            {
                int nl = Array.IndexOf(data, (byte)'\n', pos);
                if (nl < 0)
                {
                    break;
                }
                string head = Encoding.ASCII.GetString(data, pos, nl - pos);
                Assert.Matches("^[oe] [0-9]+$", head);
                int len = int.Parse(head[2..], CultureInfo.InvariantCulture);
                if (nl + 1 + len > data.Length)
                {
                    break;
                }
                records.Add((head[0], Encoding.UTF8.GetString(data, nl + 1, len)));
                pos = nl + 1 + len;
            }
        }
        return records;
    }

    /// <summary>One stream ('o' stdout, 'e' stderr) of the folder's logs, joined.</summary>
    public static string Stream(string dir, char tag) =>
        string.Concat(Read(dir).Where(r => r.Tag == tag).Select(r => r.Text));
}
