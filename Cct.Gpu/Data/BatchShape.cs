namespace Cct.Gpu.Data;

/// <summary>
/// Dimensions and switches of one batch assembly. Crop and Flip are 0/1 because kernel structs
/// carry no bools.
/// </summary>
internal readonly record struct BatchShape(int Batch, int Height, int Width, float Mean, float Std, int Crop, int Flip);
