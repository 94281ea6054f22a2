// QuickStart: train cct-tiny briefly, save it, load it back and classify a few test images, with the Cct.Gpu and
// Cct.Training packages. Exit code 0 when everything ran, 1 otherwise. Usage: QuickStart [FASHION_MNIST_DIR]
using System.Globalization;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;
using Cct.Training.Data;
using Cct.Training.Training;

try
{
    using var device = ComputeDevice.Create(AcceleratorKind.Cpu);   // Auto would take a GPU when there is one
    var data = FashionMnist.Load(args.FirstOrDefault());             // else $CCT_DATA, ~/.cache/cct, /usr/share/datasets, download
    using var model = CctModel.Create(device, CctPresets.Tiny, seed: 0);
    using var trainer = new Trainer(model, new TrainOptions { Epochs = 1, BatchSize = 32, LearningRate = 5e-3, WeightDecay = 0.05, Crop = false, Flip = false });
    var history = trainer.Fit(data with { Train = data.Train.Take(512), Test = data.Test.Take(256) });
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch 1: train loss {history[0].TrainLoss:F3}, test accuracy {history[0].TestAcc:P1}"));
    var path = Path.Combine(Path.GetTempPath(), $"cct-quickstart-{Environment.ProcessId}.safetensors");
    model.Save(path);
    using var loaded = CctModel.Load(device, path);
    File.Delete(path);
    for (var i = 0; i < 4; i++)
    {
        var prediction = loaded.Predict(data.Test.Image(i))[0];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test image {i}: {data.Spec.ClassNames[prediction.Label]} ({prediction.Probabilities[prediction.Label]:P1}), truth {data.Spec.ClassNames[data.Test.Labels[i]]}"));
    }

    return history.Count == 1 ? 0 : 1;
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    Console.Error.WriteLine($"quickstart failed: {e.Message}");
    return 1;
}
