namespace Cct.Gpu.Gemm;

/// <summary>What the blocked kernel does with its outputs once stored: each read back at its index i of C (when <see cref="ReadsBack"/>).</summary>
internal interface IGemmOutput
{
    bool ReadsBack { get; }

    void Stored(long i, float value);
}
