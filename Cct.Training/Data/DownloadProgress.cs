namespace Cct.Training.Data;

/// <summary>Download progress of one of a dataset's files.</summary>
/// <param name="FileName">the file being downloaded</param>
/// <param name="FileIndex">its index among the dataset's files, from 0</param>
/// <param name="FileCount">the dataset's files</param>
/// <param name="BytesReceived">bytes of it received so far</param>
/// <param name="TotalBytes">its size, or null when the server does not say</param>
public sealed record DownloadProgress(string FileName, int FileIndex, int FileCount, long BytesReceived, long? TotalBytes);
