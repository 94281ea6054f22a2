using Cct.Gpu.Model;

namespace Cct.Training.Training;

/// <summary>A named recipe: the model preset it trains and the options it trains it with (<see cref="TrainingRecipes"/>).</summary>
/// <param name="Name">the name <c>cct train --recipe</c> takes</param>
/// <param name="Model">the model preset (<see cref="CctConfig.PresetNames"/>)</param>
/// <param name="Options">the recipe</param>
/// <param name="Basis">where the numbers come from, and whether they were tuned on a GPU</param>
public sealed record TrainingRecipe(string Name, string Model, TrainOptions Options, string Basis)
{
    /// <summary>
    /// The model the recipe trains when it changes its preset (<c>cpu</c>: cct-tiny with 12 channels in its first
    /// convolution), else null: <see cref="Model"/> as published. <see cref="ModelConfig"/> gives either.
    /// </summary>
    public CctConfig? Config { get; init; }

    /// <summary>The configuration to build: <see cref="Config"/>, or the preset <see cref="Model"/> names.</summary>
    public CctConfig ModelConfig => Config ?? CctConfig.Preset(Model);
}
