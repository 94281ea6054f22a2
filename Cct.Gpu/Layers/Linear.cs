using ILGPU;
using ILGPU.Runtime;
using Cct.Gpu.Gemm;
using Cct.Gpu.Reductions;
using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>Linear layer y = x·Wᵀ + b over rows, as torch.nn.Linear (weight stored (out, in)).</summary>
internal sealed class Linear
{
    private readonly ComputeDevice device;
    private readonly MatMul matMul;

    // The device's tensor-core products when its precision is one (GemmPrecision), else null: chosen once, here.
    private readonly TensorCoreGemm? tensorCores;
    private readonly Action<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> biasBackward;
    private readonly Action<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> geluBiasBackward;

    // Each operation's one path on this device, chosen from its profile's kernel family when the set is loaded.
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> forwardGeluPath;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, bool, int, int, int, int, int?> backwardPath;
    private readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> weightProductsPath;

    private Linear(ComputeDevice device)
    {
        this.device = device;
        matMul = MatMul.For(device);
        tensorCores = device.Profile.Precision == GemmPrecision.Fp32 ? null : TensorCoreGemm.For(device);
        biasBackward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(BiasBackwardKernel<GivenGradient>);
        geluBiasBackward = device.Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(BiasBackwardKernel<GeluGradient>);
        if (device.Profile.Kernels == KernelFamily.Grouped)
        {
            (forwardGeluPath, backwardPath, weightProductsPath) = (ForwardGeluFused, BackwardFused, WeightProductsFused);
        }
        else
        {
            (forwardGeluPath, backwardPath, weightProductsPath) = (ForwardThenGelu, BackwardInParts, WeightProductsInParts);
        }
    }

    public static Linear For(ComputeDevice device) => device.Kernels(static d => new Linear(d));

    /// <summary>
    /// output (rows, outFeatures) = input (rows, inFeatures) · parameters' weight (outFeatures, inFeatures)ᵀ + bias (outFeatures).
    /// Pass <paramref name="hasBias"/> false to ignore the bias.
    /// </summary>
    public void Forward(ArrayView<float> output, ArrayView<float> input, WeightAndBias parameters, bool hasBias, int rows, int inFeatures, int outFeatures)
    {
        using var profile = device.Time("Linear.Forward");
        if (tensorCores is not null && tensorCores.Runs(inFeatures, outFeatures, output, input, parameters.Weight, hasBias ? parameters.Bias : default))
        {
            tensorCores.Forward(output, input, parameters.Weight, parameters.Bias, hasBias, rows, inFeatures, outFeatures);
            return;
        }

        matMul.Run(output, input, parameters.Weight, hasBias ? parameters.Bias : parameters.Weight, new GemmShape(rows, outFeatures, inFeatures, 0, 1, 0, hasBias ? 1 : 0));
    }

    /// <summary>
    /// The forward of Linear → GELU: output (rows, outFeatures) as <see cref="Forward"/> from input (rows, inFeatures) with
    /// parameters' weight (outFeatures, inFeatures) and bias (outFeatures), and activated (rows, outFeatures) = gelu(output)
    /// as <see cref="Gelu.Forward"/>; one launch on GPUs.
    /// </summary>
    public void ForwardGelu(ArrayView<float> output, ArrayView<float> activated, ArrayView<float> input, WeightAndBias parameters, int rows, int inFeatures, int outFeatures)
    {
        // The tensor-core product has no GELU epilogue: it writes output, and GELU follows in its own launch.
        if (tensorCores is not null && tensorCores.Runs(inFeatures, outFeatures, output, input, parameters.Weight, parameters.Bias))
        {
            ForwardThenGelu(output, activated, input, parameters.Weight, parameters.Bias, rows, inFeatures, outFeatures);
            return;
        }

        forwardGeluPath(output, activated, input, parameters.Weight, parameters.Bias, rows, inFeatures, outFeatures);
    }

    // The GPU path: GELU in the GEMM's epilogue.
    private void ForwardGeluFused(ArrayView<float> output, ArrayView<float> activated, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, int rows, int inFeatures, int outFeatures)
    {
        using var profile = device.Time("Linear.ForwardGelu");
        matMul.RunForwardGelu(output, activated, input, weight, bias, rows, inFeatures, outFeatures);
    }

    private void ForwardThenGelu(ArrayView<float> output, ArrayView<float> activated, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias, int rows, int inFeatures, int outFeatures)
    {
        Forward(output, input, new WeightAndBias(weight, bias), true, rows, inFeatures, outFeatures);
        Gelu.For(device).Forward(activated, output, (long)rows * outFeatures);
    }

    /// <summary>
    /// Accumulates dinput (rows, inFeatures) += doutput · weight (outFeatures, inFeatures), the gradients' dweight
    /// (outFeatures, inFeatures) += doutputᵀ · input (rows, inFeatures), and, when <paramref name="hasBias"/>, their dbias
    /// (outFeatures) += column sums of doutput (rows, outFeatures).
    /// </summary>
    public void Backward(ArrayView<float> dinput, WeightAndBiasGradients gradients, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, bool hasBias, int rows, int inFeatures, int outFeatures)
        => Backward(dinput, gradients, doutput, input, weight, hasBias, rows, inFeatures, outFeatures, PartialSums.ChunksFor(device, rows, outFeatures));

    /// <summary>
    /// Backward with the bias sums split into <paramref name="chunks"/> row chunks (tests force it on the CPU). GPUs
    /// run both products and the bias sums in one launch (<see cref="MatMul.RunLinearBackward"/>); <paramref name="splits"/>
    /// overrides how K of dweight is split there.
    /// </summary>
    internal void Backward(ArrayView<float> dinput, WeightAndBiasGradients gradients, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, bool hasBias, int rows, int inFeatures, int outFeatures, int chunks, int? splits = null)
    {
        using var profile = device.Time("Linear.Backward");
        if (tensorCores is not null && tensorCores.Runs(inFeatures, outFeatures, dinput, gradients.Weight, doutput, input, weight))
        {
            TensorCoreProducts(dinput, gradients.Weight, doutput, input, weight, rows, inFeatures, outFeatures);
            if (hasBias)
            {
                BiasBackward(biasBackward, gradients.Bias, doutput, doutput, doutput, rows, outFeatures, chunks);
            }

            return;
        }

        backwardPath(dinput, gradients.Weight, gradients.Bias, doutput, input, weight, hasBias, rows, inFeatures, outFeatures, chunks, splits);
    }

    // The GPU path: both products and the bias sums in one launch.
    private void BackwardFused(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, bool hasBias, int rows, int inFeatures, int outFeatures, int chunks, int? splits)
    {
        var bias = hasBias && rows > 0 && outFeatures > 0 ? BiasWork(dbias, doutput, rows, outFeatures, chunks) : default;
        matMul.RunLinearBackward(dinput, dweight, doutput, input, weight, rows, inFeatures, outFeatures, bias, BiasGroups(bias.Items), splits);
        if (bias.Chunks > 1)
        {
            PartialSums.For(device).AddInto(bias.Chunks, new PartialSum(dbias, bias.Partials, outFeatures));
        }
    }

    private void BackwardInParts(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, bool hasBias, int rows, int inFeatures, int outFeatures, int chunks, int? splits)
    {
        WeightProductsInParts(dinput, dweight, doutput, input, weight, rows, inFeatures, outFeatures);
        if (hasBias)
        {
            BiasBackward(biasBackward, dbias, doutput, doutput, doutput, rows, outFeatures, chunks);
        }
    }

    // dinput (rows, in) += doutput (rows, out) · weight (out, in); dweight (out, in) += doutputᵀ · input (rows, in): one launch.
    private void WeightProductsFused(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, int rows, int inFeatures, int outFeatures)
        => matMul.RunLinearBackward(dinput, dweight, doutput, input, weight, rows, inFeatures, outFeatures, default, 0);

    // dinput (rows, in) += doutput (rows, out) · weight (out, in); dweight (out, in) += doutputᵀ · input (rows, in): on tensor cores.
    private void TensorCoreProducts(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, int rows, int inFeatures, int outFeatures)
    {
        tensorCores!.InputGradient(dinput, doutput, weight, rows, inFeatures, outFeatures);
        tensorCores.WeightGradient(dweight, doutput, input, rows, inFeatures, outFeatures);
    }

    // The same two products as two item-kernel GEMMs.
    private void WeightProductsInParts(ArrayView<float> dinput, ArrayView<float> dweight, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight, int rows, int inFeatures, int outFeatures)
    {
        matMul.Run(dinput, doutput, weight, weight, new GemmShape(rows, inFeatures, outFeatures, 0, 0, 1, 0));
        matMul.Run(dweight, doutput, input, input, new GemmShape(outFeatures, inFeatures, rows, 1, 0, 1, 0));
    }

    /// <summary>
    /// The backward of Linear → GELU: accumulates dpreactivation (rows, outFeatures) += dactivation (rows, outFeatures) ·
    /// gelu'(preactivation (rows, outFeatures)), as <see cref="Gelu.Backward"/>, then the Linear's backward from it with
    /// its bias: dinput (rows, inFeatures) += and gradients (dweight (outFeatures, inFeatures), dbias (outFeatures)) += from
    /// input (rows, inFeatures) and weight (outFeatures, inFeatures). The GELU gradient is formed in the bias kernel, which
    /// reads every element anyway: one launch fewer.
    /// </summary>
    public void BackwardThroughGelu(ArrayView<float> dinput, WeightAndBiasGradients gradients, ArrayView<float> dpreactivation, ArrayView<float> dactivation, ArrayView<float> preactivation, ArrayView<float> input, ArrayView<float> weight, int rows, int inFeatures, int outFeatures)
        => BackwardThroughGelu(dinput, gradients, dpreactivation, dactivation, preactivation, input, weight, rows, inFeatures, outFeatures, PartialSums.ChunksFor(device, rows, outFeatures));

    /// <summary><see cref="BackwardThroughGelu(ArrayView{float}, WeightAndBiasGradients, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, int)"/> with the bias sums in <paramref name="chunks"/> row chunks.</summary>
    internal void BackwardThroughGelu(ArrayView<float> dinput, WeightAndBiasGradients gradients, ArrayView<float> dpreactivation, ArrayView<float> dactivation, ArrayView<float> preactivation, ArrayView<float> input, ArrayView<float> weight, int rows, int inFeatures, int outFeatures, int chunks)
    {
        using var profile = device.Time("Linear.BackwardThroughGelu");
        BiasBackward(geluBiasBackward, gradients.Bias, dpreactivation, dactivation, preactivation, rows, outFeatures, chunks);
        if (tensorCores is not null && tensorCores.Runs(inFeatures, outFeatures, dinput, gradients.Weight, dpreactivation, input, weight))
        {
            TensorCoreProducts(dinput, gradients.Weight, dpreactivation, input, weight, rows, inFeatures, outFeatures);
            return;
        }

        weightProductsPath(dinput, gradients.Weight, dpreactivation, input, weight, rows, inFeatures, outFeatures);
    }

    // The bias sums of doutput (rows, outFeatures) as work for the GPU's backward launch: into dbias with one chunk, else into partials.
    private BiasSums BiasWork(ArrayView<float> dbias, ArrayView<float> doutput, int rows, int outFeatures, int chunks)
    {
        var partials = chunks > 1 ? PartialSums.For(device).Partials((long)chunks * outFeatures) : dbias;
        return new BiasSums(partials, dbias, doutput, checked(chunks * outFeatures), chunks, rows, outFeatures);
    }

    // Groups of the GPU's backward launch for the bias sums: one item per thread, as many as the device's grid-stride kernels get.
    private int BiasGroups(int items)
    {
        var threads = MatMul.GroupSide * MatMul.GroupSide;
        return (device.Threads(items) + threads - 1) / threads;
    }

    private void BiasBackward(Action<Index1D, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> kernel,
        ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> dactivation, ArrayView<float> preactivation, int rows, int outFeatures, int chunks)
    {
        if (rows <= 0 || outFeatures <= 0)
        {
            return;
        }

        var sums = PartialSums.For(device);
        var partials = chunks > 1 ? sums.Partials((long)chunks * outFeatures) : dbias;
        var items = (long)chunks * outFeatures;
        var threads = device.Threads(items);
        kernel(threads, threads, checked((int)items), chunks, partials, dbias, doutput, dactivation, preactivation, rows, outFeatures);
        if (chunks > 1)
        {
            sums.AddInto(chunks, new PartialSum(dbias, partials, outFeatures));
        }
    }

    // One item per (row chunk, output feature), grid-stride, summing its rows of the column as TGradient reads them.
    // With one chunk it adds into dbias; otherwise it writes partials (chunks, outFeatures) for PartialSums.
    private static void BiasBackwardKernel<TGradient>(Index1D index, int stride, int items, int chunks, ArrayView<float> partials, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> dactivation, ArrayView<float> preactivation, int rows, int outFeatures)
        where TGradient : struct, IOutputGradient
        => SumColumns<TGradient>(index, stride, items, chunks, partials, dbias, doutput, dactivation, preactivation, rows, outFeatures);

    /// <summary>Items start, start + stride, … of <see cref="BiasBackwardKernel{TGradient}"/>: each item's sum does not depend on which thread takes it.</summary>
    internal static void SumColumns<TGradient>(long start, long stride, int items, int chunks, ArrayView<float> partials, ArrayView<float> dbias, ArrayView<float> doutput, ArrayView<float> dactivation, ArrayView<float> preactivation, int rows, int outFeatures)
        where TGradient : struct, IOutputGradient
    {
        var rowsPerChunk = PartialSums.RowsPerChunk(rows, chunks);
        for (var item = start; item < items; item += stride)
        {
            var o = item % outFeatures;
            var first = (int)(item / outFeatures) * rowsPerChunk;
            var end = Math.Min(rows, first + rowsPerChunk);
            var sum = 0f;
            for (var r = first; r < end; r++)
            {
                sum += default(TGradient).At(((long)r * outFeatures) + o, doutput, dactivation, preactivation);
            }

            if (chunks == 1)
            {
                dbias[o] += sum;
            }
            else
            {
                partials[item] = sum;
            }
        }
    }
}
