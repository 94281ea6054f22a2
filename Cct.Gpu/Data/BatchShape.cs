namespace Cct.Gpu.Data;

/// <summary>
/// Dimensions and switches of one batch assembly. Crop, Flip, Erase and Mirror are 0/1 because kernel structs
/// carry no bools; Padding is the crop's largest shift, ShiftY/ShiftX and Mirror a fixed view (<see cref="BatchView"/>).
/// </summary>
internal readonly record struct BatchShape(int Batch, int Height, int Width, float Mean, float Std, int Crop, int Flip, int Padding, int Erase, int Mirror, int ShiftY, int ShiftX);
