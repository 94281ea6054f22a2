using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// relu(max(x)) = max(relu(x)): the ReLU of the window maximum (a comparison, so NaN propagates as in PyTorch's relu;
/// the two orders agree bit for bit but for the sign of a zero output, when no value of the window is positive),
/// and a gradient passes only where that output is positive. That is where the ReLU-then-pool order passes one too:
/// an element a window selects gets a gradient there iff it is positive, and it is then the window's output.
/// </summary>
internal readonly struct PoolRelu : IPoolActivation
{
    public float Apply(float maximum) => maximum < 0f ? 0f : maximum;

    public bool Passes(ArrayView<float> output, int o) => output[o] > 0f;
}
