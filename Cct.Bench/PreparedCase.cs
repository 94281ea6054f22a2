namespace Cct.Bench;

/// <see cref="Run"/> launches it without synchronising.
/// </summary>
internal sealed class PreparedCase(Action run, Func<double> validate, params IDisposable[] owned) : IDisposable
{
    public Action Run { get; } = run;

    public Func<double> Validate { get; } = validate;

    public void Dispose()
    {
        foreach (var resource in owned)
        {
            resource.Dispose();
        }
    }
}
