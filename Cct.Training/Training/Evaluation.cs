namespace Cct.Training.Training;

/// <summary>Predictions of a model over a whole dataset.</summary>
/// <param name="Probabilities">class probabilities, row-major (N, K)</param>
/// <param name="Predictions">the most probable class per image (N)</param>
/// <param name="Labels">the true class per image (N)</param>
/// <param name="Loss">mean cross-entropy</param>
/// <param name="Accuracy">fraction of images predicted right, in [0, 1]</param>
public sealed record Evaluation(float[] Probabilities, int[] Predictions, int[] Labels, double Loss, double Accuracy);
