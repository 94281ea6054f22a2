namespace Cct.Training.Data;

/// <summary>
/// Finds a dataset's four IDX files, in this order: the --data folder, $CCT_DATA, the cache
/// ~/.cache/cct/&lt;dataset&gt;, then the spec's system folders. A folder counts when it holds all four
/// files, directly or in a &lt;dataset&gt; subfolder. Only --data is an error when it lacks them: the
/// user asked for that folder, so falling through would silently train on other data.
/// </summary>
internal static class DatasetLocator
{
    /// <summary>The first folder that holds the dataset, or null when none does (then download).</summary>
    public static DatasetFiles? Find(DatasetSpec spec, string? dataDirectory, DataEnvironment environment)
    {
        if (!string.IsNullOrEmpty(dataDirectory))
        {
            if (!Directory.Exists(dataDirectory))
            {
                throw new DatasetException($"--data {dataDirectory}: no such folder");
            }

            return InFolder(spec, dataDirectory, DatasetSource.DataOption, out var missing)
                ?? throw new DatasetException(
                    $"--data {dataDirectory}: missing {string.Join(", ", missing.Select(m => m + "[.gz]"))} (looked there and in {Path.Combine(dataDirectory, spec.Name)})");
        }

        var candidates = new List<(string Folder, DatasetSource Source)>();
        if (!string.IsNullOrEmpty(environment.CctData))
        {
            candidates.Add((environment.CctData, DatasetSource.EnvironmentVariable));
        }

        if (!string.IsNullOrEmpty(environment.HomeDirectory))
        {
            candidates.Add((environment.CacheDirectory(spec), DatasetSource.Cache));
        }

        candidates.AddRange(spec.SystemDirectories.Select(d => (d, DatasetSource.System)));
        return candidates.Select(c => InFolder(spec, c.Folder, c.Source, out _)).FirstOrDefault(f => f is not null);
    }

    private static DatasetFiles? InFolder(DatasetSpec spec, string folder, DatasetSource source, out IReadOnlyList<string> missing)
    {
        var files = DatasetFiles.In(folder, source, out missing);
        if (files is not null || source == DatasetSource.Cache)
        {
            return files;
        }

        return DatasetFiles.In(Path.Combine(folder, spec.Name), source, out _);
    }
}
