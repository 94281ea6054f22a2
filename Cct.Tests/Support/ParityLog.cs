using System.Collections.Concurrent;
using System.Globalization;

namespace Cct.Tests.Support;

/// <summary>Collects the worst error per compared tensor; written to parity-errors.tsv beside the tests for the closing note.</summary>
public static class ParityLog
{
    private static readonly ConcurrentDictionary<string, double> Errors = new();

    public static void Record(string what, double maxAbs) => Errors.AddOrUpdate(what, maxAbs, (_, old) => Math.Max(old, maxAbs));

    public static void Flush()
    {
        var lines = Errors.OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => $"{e.Key}\t{e.Value.ToString("g3", CultureInfo.InvariantCulture)}");
        File.WriteAllLines(Path.Combine(AppContext.BaseDirectory, "parity-errors.tsv"), lines);
    }
}
