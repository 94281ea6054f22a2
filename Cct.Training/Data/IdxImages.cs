namespace Cct.Training.Data;

/// <summary>Images read from an IDX file: <see cref="Pixels"/> holds Count×Rows×Cols bytes, row-major.</summary>
internal sealed record IdxImages(int Count, int Rows, int Cols, byte[] Pixels);
