using ILGPU;

namespace Cct.Gpu.Layers;

/// <summary>
/// What <see cref="MaxPool2d"/> applies to each window maximum, and the matching gate on its backward: nothing
/// (<see cref="PoolIdentity"/>), or a ReLU (<see cref="PoolRelu"/>), which commutes with the maximum.
/// </summary>
internal interface IPoolActivation
{
    /// <summary>The pooled output of a window whose maximum is <paramref name="maximum"/>.</summary>
    float Apply(float maximum);

    /// <summary>Whether output <paramref name="o"/> (of <paramref name="output"/>, the pooled outputs) passes its gradient back.</summary>
    bool Passes(ArrayView<float> output, int o);
}
