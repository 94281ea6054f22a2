namespace Cct.Gpu.Gemm;

/// <summary>Work a grouped launch runs in the groups after its products: group g of <c>groups</c>, thread t of <c>threads</c>.</summary>
internal interface IGroupWork
{
    void Run(int group, int groups, int thread, int threads);
}
