namespace Cct.Gpu.Gemm;

/// <summary>Nothing more.</summary>
internal readonly struct StoredOutput : IGemmOutput
{
    public bool ReadsBack => false;

    public void Stored(long i, float value)
    {
    }
}
