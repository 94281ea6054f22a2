// QuickStart: train cct-tiny briefly on the CPU accelerator, save it, load it back and classify a few test images,
// with the Cct.Gpu and Cct.Training packages. Exit code 0 when everything ran, 1 otherwise.
using System.Globalization;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Reports;
using Cct.Training.Training;

try
{
    // FashionMNIST from --data DIR, $CCT_DATA, ~/.cache/cct or /usr/share/datasets/fashion-mnist; else downloaded.
    var spec = DatasetSpec.FashionMnist;
    using var http = new HttpClient();
    var files = await DatasetProvider.ResolveAsync(spec, args.FirstOrDefault(), DataEnvironment.Current, http);
    var trainSet = files.LoadTrain(spec).Take(512);
    var testSet = files.LoadTest(spec).Take(256);

    var options = TrainOptions.ForPreset("cct-tiny") with { Epochs = 1, Accelerator = AcceleratorKind.Cpu };
    var output = Path.Combine(Path.GetTempPath(), $"cct-quickstart-{Environment.ProcessId}");
    using var device = ComputeDevice.Create(options.Accelerator);
    using var train = new DeviceDataset(device, trainSet);
    using var test = new DeviceDataset(device, testSet);
    using (var trainer = new Trainer(device, options, train, null, test, spec.Mean, spec.Std))
    {
        trainer.Model.Initialize(options.Seed);
        trainer.Run(output, new TrainingState(), new PrintProgress(), CancellationToken.None);
        // The trainer writes checkpoint-last itself; saving one by hand looks like this.
        Checkpoint.Save(Path.Combine(output, "quickstart.safetensors"), trainer.Model, options, new TrainingState { Epoch = options.Epochs });
    }

    // Load into a fresh model and classify the first test images.
    var checkpoint = Checkpoint.Load(Path.Combine(output, "quickstart.safetensors"));
    using var model = new CctModel(device, checkpoint.Config, maxBatch: 8);
    checkpoint.Restore(model, optimizer: false);
    using var few = new DeviceDataset(device, testSet.Take(4));
    using var evaluator = new Evaluator(device, model);
    var result = evaluator.Run(few, spec.Mean, spec.Std);
    for (var i = 0; i < few.Count; i++)
    {
        var top = result.Predictions[i];
        var probability = result.Probabilities[(i * spec.ClassCount) + top];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test image {i}: {spec.ClassNames[top]} ({probability:P1}), truth {spec.ClassNames[result.Labels[i]]}"));
    }

    Directory.Delete(output, recursive: true);
    return 0;
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    Console.Error.WriteLine($"quickstart failed: {e}");
    return 1;
}

/// <summary>One line per epoch.</summary>
internal sealed class PrintProgress : ITrainingProgress
{
    public void Update(int epoch, int epochs, int batch, int batches, double loss, double accuracy, double imagesPerSecond)
    {
    }

    public void EpochCompleted(EpochMetrics metrics, bool improved) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {metrics.Epoch}: train loss {metrics.TrainLoss:F3}, test accuracy {metrics.TestAcc:P1}"));

    public void Message(string text) => Console.WriteLine(text);
}
