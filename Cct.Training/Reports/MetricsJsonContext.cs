using System.Text.Json.Serialization;

namespace Cct.Training.Reports;

/// <summary>One compact object per line for <c>metrics.jsonl</c>.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(EpochMetrics))]
internal sealed partial class MetricsJsonContext : JsonSerializerContext;
