using Cct.Gpu.Runtime;

namespace Cct.Bench;

/// <summary>Options of the "train" mode; the same names as tools/bench/pytorch_bench.py's.</summary>
/// <param name="Precision">how the Linear products are computed (<c>--precision</c>; a tensor-core one on CUDA only)</param>
/// <param name="FusedAttention">false (<c>--attention unfused</c>): the GPU kernels' models keep the probabilities and run attention's batched products, to time against the fused default</param>
/// <param name="CudaGraphs">replay the training step and the inference batch as CUDA graphs (<c>--cuda-graphs</c>; CUDA only)</param>
internal sealed record TrainBenchOptions(string Model, int Batch, AcceleratorKind Accelerator, int Steps, int Warmup, int Repeats, int ProfileSteps, string? JsonPath, bool FusedAttention = true, GemmPrecision Precision = GemmPrecision.Fp32, bool CudaGraphs = false);
