using Cct.Gpu.Optimizer;

namespace Cct.Gpu.Model;

/// <summary>
/// What changes from one training step to the next on the device: the step number (the dropout and drop-path keys,
/// <see cref="Runtime.RngKey.StepCell"/>) and AdamW's coefficients for it. A replayed CUDA graph keeps the kernel
/// arguments it was captured with, so a model that replays its step keeps these in device memory (<see cref="DeviceStepValues"/>).
/// </summary>
internal readonly record struct StepValues(uint Step, AdamWCoefficients Adam);
