namespace Cct.Training.Data;

/// <summary>Where a dataset was found, in search order.</summary>
internal enum DatasetSource
{
    /// <summary>The folder given with --data.</summary>
    DataOption,

    /// <summary>The folder named by $CCT_DATA.</summary>
    EnvironmentVariable,

    /// <summary>~/.cache/cct/&lt;dataset&gt;, found there from an earlier download.</summary>
    Cache,

    /// <summary>A distribution folder such as Debian's /usr/share/datasets/fashion-mnist.</summary>
    System,

    /// <summary>Downloaded into the cache just now.</summary>
    Downloaded,
}
