using System.Text.Json;
using Cct.CommandLine;
using Cct.Gpu.Runtime;
using Cct.Training.Checkpoints;
using Cct.Training.Data;
using Cct.Training.Training;

namespace Cct.Cli;

/// <summary>The `cct` command line: devices, summary, train, eval, predict, attention, check, export.</summary>
internal static class Program
{
    private const string Usage = """
        usage: cct <command> [options]

        commands:
          devices    list accelerators, with memory, and which one auto picks
          summary    layer table and parameter count of a model
          train      train on FashionMNIST (or MNIST) and write a run folder
          eval       evaluate a checkpoint on the test set and write report/
          predict    classify PNG images with a checkpoint
          attention  draw where a checkpoint's model looks in PNG images
          check      every kernel on the accelerator vs the CPU accelerator and PyTorch fixtures
          export     write a checkpoint as an ONNX model

        Commands that run a model take --accelerator auto|cuda|opencl|cpu; every command takes --help.
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            var rest = args.Skip(1).ToArray();
            return args[0] switch
            {
                "devices" => InfoCommands.Devices(rest),
                "summary" => InfoCommands.Summary(rest),
                "train" => TrainCommand.Run(rest),
                "eval" => EvalCommand.Run(rest),
                "predict" => PredictCommand.Run(rest),
                "attention" => AttentionCommand.Run(rest),
                "check" => CheckCommand.Run(rest),
                "export" => ExportCommand.Run(rest),
                _ => throw new UsageException($"unknown command '{args[0]}'; run cct --help"),
            };
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"cct: error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is UsageException or DatasetException or CheckpointException or AcceleratorUnavailableException or RunFolderBusyException)
        {
            return Fail(e.Message);
        }
        catch (OutOfMemoryException)
        {
            return Fail("out of memory; try a smaller --batch or model");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidDataException)
        {
            return Fail(e.Message);
        }
    }

    /// <summary>One clear line on stderr and exit code 2 (1 for a run that diverged).</summary>
    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"cct: error: {message}");
        return 2;
    }
}
