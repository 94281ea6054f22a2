namespace Cct.Training.Data;

/// <summary>
/// The process state the search depends on, injectable so tests need not touch the real
/// environment or home folder.
/// </summary>
/// <param name="CctData">The value of $CCT_DATA, or null when unset.</param>
/// <param name="HomeDirectory">The user's home folder; empty when unknown.</param>
internal sealed record DataEnvironment(string? CctData, string HomeDirectory)
{
    public static DataEnvironment Current => new(
        Environment.GetEnvironmentVariable("CCT_DATA"),
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>~/.cache/cct/&lt;dataset&gt;: where downloads go and are found again.</summary>
    public string CacheDirectory(DatasetSpec spec)
    {
        if (string.IsNullOrEmpty(HomeDirectory))
        {
            throw new DatasetException($"cannot find a home folder to cache {spec.Name} in; set CCT_DATA or pass --data DIR");
        }

        return Path.Combine(HomeDirectory, ".cache", "cct", spec.Name);
    }
}
