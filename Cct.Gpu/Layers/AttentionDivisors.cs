using Cct.Gpu.Runtime;

namespace Cct.Gpu.Layers;

/// <summary>
/// The divisors <see cref="Attention"/>'s item kernels split their flat indices by, worked out once per call on the host
/// (<see cref="FastDivisor"/>): T, H, C, hs and the qkv row's 3C.
/// </summary>
internal readonly record struct AttentionDivisors(FastDivisor Tokens, FastDivisor Heads, FastDivisor Channels, FastDivisor HeadSize, FastDivisor QkvWidth)
{
    public static AttentionDivisors Of(AttentionShape s)
        => new(FastDivisor.Of(s.Tokens), FastDivisor.Of(s.Heads), FastDivisor.Of(s.Channels), FastDivisor.Of(s.HeadSize), FastDivisor.Of(3 * s.Channels));
}
