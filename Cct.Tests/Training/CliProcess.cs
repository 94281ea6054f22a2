using System.Diagnostics;
using Cct.Training.Training;

namespace Cct.Tests.Training;

/// <summary>Runs the real `cct` executable (cct.dll beside the tests) in a separate process.</summary>
public static class CliProcess
{
    /// <summary>cct.dll, which the project reference copies into the test output folder.</summary>
    public static string Executable => Path.Combine(AppContext.BaseDirectory, "cct.dll");

    /// <summary>Starts `dotnet cct.dll args` with stdout and stderr redirected; <paramref name="fault"/> sets $CCT_TEST_FAULT.</summary>
    public static Process Start(IEnumerable<string> args, string? fault = null)
    {
        // The dotnet CLI names its own host here; the tests must run the same runtime.
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Executable);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove(FaultInjection.Variable);
        if (fault is not null)
        {
            info.Environment[FaultInjection.Variable] = fault;
        }

        return Process.Start(info) ?? throw new AssertionException("could not start dotnet");
    }

    /// <summary>Runs to the end (at most <paramref name="timeoutSeconds"/>) and returns the exit code and both streams.</summary>
    public static (int ExitCode, string Out, string Error) Run(IEnumerable<string> args, string? fault = null, int timeoutSeconds = 300)
    {
        using var process = Start(args, fault);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"cct {string.Join(' ', args)} ran past {timeoutSeconds} s");
        }

        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }
}
