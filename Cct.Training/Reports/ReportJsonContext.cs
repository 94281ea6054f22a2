using System.Text.Json.Serialization;

namespace Cct.Training.Reports;

/// <summary>Source-generated (trim-safe) serializers for the report files, with snake_case keys.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    // A diverged run still gets its numbers written ("NaN") rather than an exception.
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ClassificationReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
