using Cct.Gpu.Runtime;
using ILGPU;

namespace Cct.Gpu.Model;

/// <summary>
/// One forward (and its backward) pass: the batch, and the one dropout rule every module asks. A site drops at its
/// rate while training and not at all in eval, with masks keyed by (Seed, site stream, Step), so backward recomputes
/// forward's masks and a resumed run draws the same ones. With <paramref name="StepCell"/> (a model that keeps its step
/// values on the device, <see cref="StepValues"/>) the masks read the step from there, holding <paramref name="Step"/>.
/// </summary>
internal readonly record struct Pass(int Batch, bool Training, uint Seed, uint Step, ArrayView<uint> StepCell = default)
{
    /// <summary>The rate <paramref name="site"/> drops at in this pass.</summary>
    public float Rate(DropoutSite site) => Training ? site.Rate : 0f;

    /// <summary>The key of <paramref name="site"/>'s masks in this pass.</summary>
    public RngKey Key(DropoutSite site) => new(Seed, site.Stream, Step) { StepCell = StepCell };
}
