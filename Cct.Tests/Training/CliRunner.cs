using Cct.Cli;
using Cct.Training.Data;

namespace Cct.Tests.Training;

/// <summary>Runs the real `cct` entry point in-process, capturing stdout and stderr.</summary>
public static class CliRunner
{
    private static readonly Lock Gate = new();

    public static (int ExitCode, string Out, string Error) Run(params string[] args)
    {
        lock (Gate)
        {
            var (oldOut, oldError) = (Console.Out, Console.Error);
            using var output = new StringWriter();
            using var error = new StringWriter();
            Console.SetOut(output);
            Console.SetError(error);
            try
            {
                var code = Program.Main(args);
                return (code, output.ToString(), error.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldError);
            }
        }
    }

    /// <summary>A folder with the four IDX files: the first <paramref name="train"/> / <paramref name="test"/> images of Debian's FashionMNIST.</summary>
    public static string FashionMnistSlice(string folder, int train, int test)
    {
        var source = DatasetLocator.Find(DatasetSpec.FashionMnist, "/usr/share/datasets/fashion-mnist", new DataEnvironment(null, Path.GetTempPath()))
            ?? throw new AssertionException("FashionMNIST is missing: apt-get install dataset-fashion-mnist");
        Directory.CreateDirectory(folder);
        var trainSet = source.LoadTrain(DatasetSpec.FashionMnist).Take(train);
        var testSet = source.LoadTest(DatasetSpec.FashionMnist).Take(test);
        IdxFile.WriteImages(Path.Combine(folder, "train-images-idx3-ubyte"), trainSet.Pixels, trainSet.Count, 28, 28, gzip: false);
        IdxFile.WriteLabels(Path.Combine(folder, "train-labels-idx1-ubyte"), trainSet.Labels, gzip: false);
        IdxFile.WriteImages(Path.Combine(folder, "t10k-images-idx3-ubyte"), testSet.Pixels, testSet.Count, 28, 28, gzip: false);
        IdxFile.WriteLabels(Path.Combine(folder, "t10k-labels-idx1-ubyte"), testSet.Labels, gzip: false);
        return folder;
    }
}
