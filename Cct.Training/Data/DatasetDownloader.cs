using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Cct.Training.Data;

/// <summary>
/// Downloads a dataset's four <c>.gz</c> files from <see cref="DatasetSpec.MirrorUrl"/> into a folder.
/// Each file streams into a temporary file beside its target, is checked against
/// <see cref="DatasetSpec.Md5"/>, flushed to disk and only then renamed into place, so an interrupted
/// or failed download never leaves a file that looks complete. Files already there with the right
/// hash (from an earlier, partly failed run) are kept.
/// </summary>
internal sealed class DatasetDownloader
{
    private readonly HttpClient http;

    public DatasetDownloader(HttpClient http)
    {
        this.http = http;
    }

    /// <summary>Downloads whatever of the four files <paramref name="directory"/> lacks and returns them.</summary>
    public async Task<DatasetFiles> DownloadAsync(
        DatasetSpec spec,
        string directory,
        Action<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"cannot create {directory} for the {spec.Name} download ({e.Message.TrimEnd('.')})", e);
        }

        var names = DatasetFiles.BaseNames.Select(n => n + ".gz").ToList();
        for (var i = 0; i < names.Count; i++)
        {
            var target = Path.Combine(directory, names[i]);
            if (!spec.Md5.TryGetValue(names[i], out var md5))
            {
                throw new DatasetException($"no expected hash for {names[i]} of {spec.Name}");
            }

            if (File.Exists(target) && string.Equals(await HashFileAsync(target, cancellationToken).ConfigureAwait(false), md5, StringComparison.OrdinalIgnoreCase))
            {
                var length = new FileInfo(target).Length;
                progress?.Invoke(new DownloadProgress(names[i], i, names.Count, length, length));
                continue;
            }

            await DownloadFileAsync(spec, names[i], i, names.Count, md5, target, progress, cancellationToken).ConfigureAwait(false);
        }

        return DatasetFiles.In(directory, DatasetSource.Downloaded, out _)
            ?? throw new DatasetException($"{directory}: the downloaded files disappeared");
    }

    /// <summary>How to get the data without this downloader, appended to every download error.</summary>
    public static string ManualHint(DatasetSpec spec)
    {
        var files = string.Join(", ", DatasetFiles.BaseNames.Select(n => n + ".gz"));
        var apt = spec.AptPackage is null ? string.Empty : $"install it with 'sudo apt-get install {spec.AptPackage}', or ";
        return $"To get {spec.Name} by hand: {apt}put the four files {files} (from {spec.MirrorUrl}) in a folder and pass --data DIR.";
    }

    // MD5 only because upstream (and torchvision) publish MD5 sums: this detects corruption, it is no security check.
    [SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Algorithms", Justification = "Integrity check against published MD5 sums.")]
    private static IncrementalHash NewHash() => IncrementalHash.CreateHash(HashAlgorithmName.MD5);

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        using var hash = NewHash();
        var stream = File.OpenRead(path);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private async Task DownloadFileAsync(
        DatasetSpec spec,
        string name,
        int index,
        int count,
        string md5,
        string target,
        Action<DownloadProgress>? progress,
        CancellationToken cancellationToken)
    {
        var url = new Uri(spec.MirrorUrl, name);
        var temporary = $"{target}.{Guid.NewGuid():N}.part";
        try
        {
            string actual;
            using (var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false))
            {
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                }

                var total = response.Content.Headers.ContentLength;
                using var hash = NewHash();
                var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await using (source.ConfigureAwait(false))
                {
                    var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                    await using (file.ConfigureAwait(false))
                    {
                        var buffer = new byte[1 << 16];
                        long received = 0;
                        progress?.Invoke(new DownloadProgress(name, index, count, 0, total));
                        int read;
                        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                            hash.AppendData(buffer, 0, read);
                            received += read;
                            progress?.Invoke(new DownloadProgress(name, index, count, received, total));
                        }

                        // The rename below must not become visible before the data is on disk.
                        file.Flush(flushToDisk: true);
                    }
                }

                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (!string.Equals(actual, md5, StringComparison.OrdinalIgnoreCase))
            {
                throw new DatasetException($"downloaded {url} has MD5 {actual}, expected {md5}. {ManualHint(spec)}");
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException
            || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // A timeout surfaces as TaskCanceledException without our token being cancelled.
            var reason = e is TaskCanceledException ? "timed out" : e.Message.TrimEnd('.');
            throw new DatasetException($"could not download {url} ({reason}). {ManualHint(spec)}", e);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
