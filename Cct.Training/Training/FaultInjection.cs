using System.Globalization;
using Cct.Training.Reports;

namespace Cct.Training.Training;

/// <summary>
/// Test-only faults, so tests can stop `cct train` at an exact point instead of racing a timer. Set
/// $CCT_TEST_FAULT to one of
///   sigkill-at-step:N  — the process SIGKILLs itself right after launching optimizer step N (0-based, counted over the run);
///   sigint-at-step:N   — it sends itself SIGINT (what Ctrl+C sends) there, so the real interrupt path runs;
///   sigterm-at-step:N  — it sends itself SIGTERM there (what kill, timeout and docker stop send);
///   sigkill-in-save:N  — it SIGKILLs itself in its N-th checkpoint write (1-based), after the temporary file
///                        is written and fsynced and before the rename.
/// Unset (the normal case) nothing happens; any other value is an error, so a typo cannot pass silently.
/// </summary>
internal sealed class FaultInjection
{
    public const string Variable = "CCT_TEST_FAULT";

    private readonly string kind;
    private readonly long at;
    private int saves;

    private FaultInjection(string kind, long at)
    {
        this.kind = kind;
        this.at = at;
    }

    /// <summary>The fault $CCT_TEST_FAULT asks for, or one that never fires.</summary>
    public static FaultInjection FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(value))
        {
            return new FaultInjection(string.Empty, -1);
        }

        var parts = value.Split(':');
        if (parts.Length != 2 || parts[0] is not ("sigkill-at-step" or "sigint-at-step" or "sigterm-at-step" or "sigkill-in-save")
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var at))
        {
            throw new InvalidOperationException($"${Variable} must be sigkill-at-step:N, sigint-at-step:N, sigterm-at-step:N or sigkill-in-save:N, not '{value}'");
        }

        return new FaultInjection(parts[0], at);
    }

    /// <summary>Called after step <paramref name="step"/> is launched.</summary>
    public void AfterStep(long step)
    {
        if (step != at)
        {
            return;
        }

        if (kind == "sigkill-at-step")
        {
            Posix.SignalSelf(Posix.Kill);
        }
        else if (kind == "sigint-at-step")
        {
            Posix.SignalSelf(Posix.Interrupt);
        }
        else if (kind == "sigterm-at-step")
        {
            Posix.SignalSelf(Posix.Terminate);
        }
    }

    /// <summary>Called between writing a checkpoint's temporary file and renaming it.</summary>
    public void BeforeCheckpointRename()
    {
        if (kind == "sigkill-in-save" && ++saves == at)
        {
            Posix.SignalSelf(Posix.Kill);
        }
    }
}
