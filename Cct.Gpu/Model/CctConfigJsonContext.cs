using System.Text.Json.Serialization;

namespace Cct.Gpu.Model;

/// <summary>Source-generated, so config (de)serialisation survives trimming.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true, WriteIndented = true)]
[JsonSerializable(typeof(CctConfig))]
internal sealed partial class CctConfigJsonContext : JsonSerializerContext;
