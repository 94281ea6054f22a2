namespace Cct.Training.Data;

/// <summary>The four IDX files of one dataset, each gzipped or raw.</summary>
internal sealed record DatasetFiles(
    string Directory,
    DatasetSource Source,
    string TrainImages,
    string TrainLabels,
    string TestImages,
    string TestLabels)
{
    /// <summary>The upstream base names, in the order train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<string> BaseNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>The 60,000 (or fewer) training images, validated.</summary>
    public ImageDataset LoadTrain(DatasetSpec spec) => ImageDataset.Load(TrainImages, TrainLabels, spec);

    /// <summary>The 10,000 (or fewer) test images, validated.</summary>
    public ImageDataset LoadTest(DatasetSpec spec) => ImageDataset.Load(TestImages, TestLabels, spec);

    /// <summary>
    /// The four files in <paramref name="directory"/>, each as the raw name or with ".gz", or null
    /// with the base names that are missing. Only names are checked here; contents when loading.
    /// </summary>
    public static DatasetFiles? In(string directory, DatasetSource source, out IReadOnlyList<string> missing)
    {
        var paths = new List<string>();
        var absent = new List<string>();
        foreach (var name in BaseNames)
        {
            var raw = Path.Combine(directory, name);
            var gz = raw + ".gz";
            if (File.Exists(raw))
            {
                paths.Add(raw);
            }
            else if (File.Exists(gz))
            {
                paths.Add(gz);
            }
            else
            {
                absent.Add(name);
            }
        }

        missing = absent;
        return absent.Count > 0 ? null : new DatasetFiles(directory, source, paths[0], paths[1], paths[2], paths[3]);
    }
}
