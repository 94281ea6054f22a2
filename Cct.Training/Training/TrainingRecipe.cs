namespace Cct.Training.Training;

/// <summary>A named recipe: the model preset it trains and the options it trains it with (<see cref="TrainingRecipes"/>).</summary>
/// <param name="Name">the name <c>cct train --recipe</c> takes</param>
/// <param name="Model">the model preset (<see cref="Cct.Gpu.Model.CctConfig.PresetNames"/>)</param>
/// <param name="Options">the recipe</param>
/// <param name="Basis">where the numbers come from, and whether they were tuned on a GPU</param>
public sealed record TrainingRecipe(string Name, string Model, TrainOptions Options, string Basis);
