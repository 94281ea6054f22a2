namespace Cct.Training.Data;

/// <summary>Finds a dataset (see <see cref="DatasetLocator"/>) and downloads it into the cache when nothing is found.</summary>
internal static class DatasetProvider
{
    /// <summary>
    /// The dataset's files: found by the search order, or else downloaded into
    /// ~/.cache/cct/&lt;dataset&gt; with <paramref name="http"/>, reporting to <paramref name="progress"/>.
    /// </summary>
    public static async Task<DatasetFiles> ResolveAsync(
        DatasetSpec spec,
        string? dataDirectory,
        DataEnvironment environment,
        HttpClient http,
        Action<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var found = DatasetLocator.Find(spec, dataDirectory, environment);
        if (found is not null)
        {
            return found;
        }

        return await new DatasetDownloader(http)
            .DownloadAsync(spec, environment.CacheDirectory(spec), progress, cancellationToken)
            .ConfigureAwait(false);
    }
}
