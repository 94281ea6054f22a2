using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Cct.Gpu.Layers;
using Cct.Gpu.Model;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Optimizer;

/// <summary>
/// torch.optim.AdamW (decoupled weight decay, bias-corrected moments) as one elementwise kernel over
/// the flat parameter buffer, as in llm.c. With zero weight decay it is torch.optim.Adam.
/// </summary>
internal sealed class AdamW
{
    private readonly ComputeDevice device;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GivenCoefficients> stepKernel;
    private readonly Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, StoredCoefficients> storedStepKernel;

    private AdamW(ComputeDevice device)
    {
        this.device = device;
        stepKernel = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GivenCoefficients>(StepKernel);
        storedStepKernel = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, StoredCoefficients>(StepKernel);
    }

    /// <summary>Where the kernel takes the step's coefficients from.</summary>
    internal interface ICoefficients
    {
        AdamWCoefficients Read();
    }

    public static AdamW For(ComputeDevice device) => device.Kernels(static d => new AdamW(d));

    /// <summary>
    /// Step number <paramref name="step"/> (1 for the first) of AdamW, in place:
    /// p -= lr·wd·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p -= lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε).
    /// parameters (N), firstMoment (N) and secondMoment (N) are updated; gradients (N) are read.
    /// </summary>
    public void Step(ArrayView<float> parameters, ArrayView<float> firstMoment, ArrayView<float> secondMoment, ArrayView<float> gradients, AdamWSettings settings, int step)
    {
        using var profile = device.Time("AdamW.Step");
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        var threads = Threads(parameters, firstMoment, secondMoment, gradients);
        if (threads > 0)
        {
            stepKernel(threads, threads, parameters, firstMoment, secondMoment, gradients, new GivenCoefficients(AdamWCoefficients.Of(settings, step)));
        }
    }

    /// <summary>
    /// As <see cref="Step(ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, AdamWSettings, int)"/>, with the
    /// step's coefficients read on the device from values (1), so a replayed graph of the step uses each step's own.
    /// </summary>
    public void Step(ArrayView<float> parameters, ArrayView<float> firstMoment, ArrayView<float> secondMoment, ArrayView<float> gradients, ArrayView<StepValues> values)
    {
        using var profile = device.Time("AdamW.Step");
        var threads = Threads(parameters, firstMoment, secondMoment, gradients);
        if (threads > 0)
        {
            storedStepKernel(threads, threads, parameters, firstMoment, secondMoment, gradients, new StoredCoefficients(values));
        }
    }

    private int Threads(ArrayView<float> parameters, ArrayView<float> firstMoment, ArrayView<float> secondMoment, ArrayView<float> gradients)
    {
        var n = parameters.Length;
        if (firstMoment.Length != n || secondMoment.Length != n || gradients.Length != n)
        {
            throw new ArgumentException($"AdamW needs equal lengths: parameters {n}, firstMoment {firstMoment.Length}, secondMoment {secondMoment.Length}, gradients {gradients.Length}");
        }

        return device.Threads(checked((int)n));
    }

    // Grid-stride over the elements (ComputeDevice.Threads); a long counter, as index + stride can pass
    // int.MaxValue on a GPU, where stride is the element count.
    private static void StepKernel<TCoefficients>(Index1D index, int stride, ArrayView<float> parameters, ArrayView<float> firstMoment, ArrayView<float> secondMoment, ArrayView<float> gradients, TCoefficients coefficients)
        where TCoefficients : struct, ICoefficients
    {
        var c = coefficients.Read();
        for (long i = index; i < parameters.Length; i += stride)
        {
            var g = gradients[i];
            var m = (c.Beta1 * firstMoment[i]) + ((1f - c.Beta1) * g);
            var v = (c.Beta2 * secondMoment[i]) + ((1f - c.Beta2) * g * g);
            firstMoment[i] = m;
            secondMoment[i] = v;

            // PyTorch's order: decay first, then the step from the decayed parameter.
            var p = parameters[i] * c.Decay;
            var denominator = (XMath.Sqrt(v) * c.InverseSqrtCorrection2) + c.Epsilon;
            parameters[i] = p - (c.StepSize * m / denominator);
        }
    }

    /// <summary>The coefficients as a kernel argument.</summary>
    internal readonly record struct GivenCoefficients(AdamWCoefficients Coefficients) : ICoefficients
    {
        public AdamWCoefficients Read() => Coefficients;
    }

    /// <summary>The coefficients in device memory: values (1), written before the step (<see cref="DeviceStepValues"/>).</summary>
    internal readonly record struct StoredCoefficients(ArrayView<StepValues> Values) : ICoefficients
    {
        public AdamWCoefficients Read() => Values[0].Adam;
    }
}
