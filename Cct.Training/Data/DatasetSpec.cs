namespace Cct.Training.Data;

/// <summary>
/// Everything that differs between the supported datasets: names, classes, normalisation, where
/// to find and download them. A record so tests can swap the mirror, hashes or system folders with <c>with</c>.
/// </summary>
/// <param name="Kind">Which dataset this is.</param>
/// <param name="Name">The CLI and cache-folder name ("fashion-mnist", "mnist").</param>
/// <param name="ClassNames">The class names, by label.</param>
/// <param name="Mean">Mean of the training pixels scaled to [0, 1], as used by torchvision's Normalize.</param>
/// <param name="Std">Standard deviation of the training pixels scaled to [0, 1].</param>
/// <param name="MirrorUrl">Base URL the four <c>.gz</c> files are downloaded from; ends with '/'.</param>
/// <param name="Md5">Expected MD5 (lower-case hex) of each downloaded <c>.gz</c>, keyed by file name.</param>
/// <param name="SystemDirectories">Distribution-installed folders searched after the cache.</param>
/// <param name="AptPackage">The Debian package that installs the data, if there is one.</param>
public sealed record DatasetSpec(
    DatasetKind Kind,
    string Name,
    IReadOnlyList<string> ClassNames,
    float Mean,
    float Std,
    Uri MirrorUrl,
    IReadOnlyDictionary<string, string> Md5,
    IReadOnlyList<string> SystemDirectories,
    string? AptPackage)
{
    /// <summary>Image height of both datasets.</summary>
    public const int ImageRows = 28;
    /// <summary>Image width of both datasets.</summary>
    public const int ImageCols = 28;

    /// <summary>FashionMNIST: its classes, pixel statistics (mean 0.2860, std 0.3530), mirror and hashes.</summary>
    public static DatasetSpec FashionMnist { get; } = new(
        DatasetKind.FashionMnist,
        "fashion-mnist",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        0.2860f,
        0.3530f,
        new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        new Dictionary<string, string>
        {
            ["train-images-idx3-ubyte.gz"] = "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            ["train-labels-idx1-ubyte.gz"] = "25c81989df183df01b3e8a0aad5dffbe",
            ["t10k-images-idx3-ubyte.gz"] = "bef4ecab320f06d8554ea6380940ec79",
            ["t10k-labels-idx1-ubyte.gz"] = "bb300cfdad3c16e7a12a480ee83cd310",
        },
        ["/usr/share/datasets/fashion-mnist"],
        "dataset-fashion-mnist");

    /// <summary>MNIST: its classes, pixel statistics, mirror and hashes.</summary>
    public static DatasetSpec Mnist { get; } = new(
        DatasetKind.Mnist,
        "mnist",
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        0.1307f,
        0.3081f,
        new Uri("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        new Dictionary<string, string>
        {
            ["train-images-idx3-ubyte.gz"] = "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            ["train-labels-idx1-ubyte.gz"] = "d53e105ee54ea40749a09fcbcd1e9432",
            ["t10k-images-idx3-ubyte.gz"] = "9fb629c4189551a2d022fa330f9573f3",
            ["t10k-labels-idx1-ubyte.gz"] = "ec29112dd5afa0611ce80d1b7f02629c",
        },
        [],
        null);

    /// <summary>Number of classes.</summary>
    public int ClassCount => ClassNames.Count;

    /// <summary>The spec of <paramref name="kind"/>.</summary>
    public static DatasetSpec For(DatasetKind kind) => kind switch
    {
        DatasetKind.FashionMnist => FashionMnist,
        DatasetKind.Mnist => Mnist,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown dataset"),
    };

    /// <summary>Parses a CLI dataset name ("fashion-mnist" or "mnist", any case).</summary>
    public static DatasetSpec Parse(string name)
    {
        foreach (var spec in new[] { FashionMnist, Mnist })
        {
            if (string.Equals(name, spec.Name, StringComparison.OrdinalIgnoreCase))
            {
                return spec;
            }
        }

        throw new DatasetException($"unknown dataset '{name}'; expected fashion-mnist or mnist");
    }
}
