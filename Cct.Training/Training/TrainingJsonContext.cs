using System.Text.Json.Serialization;

namespace Cct.Training.Training;

/// <summary>Source-generated JSON for the training types, so it survives trimming.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(TrainOptions))]
[JsonSerializable(typeof(TrainingState))]
internal sealed partial class TrainingJsonContext : JsonSerializerContext;
