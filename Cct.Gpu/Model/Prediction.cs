namespace Cct.Gpu.Model;

/// <summary>What the model says about one image.</summary>
/// <param name="Label">the most probable class index</param>
/// <param name="Probabilities">the softmax over the classes (Classes), summing to 1</param>
public sealed record Prediction(int Label, float[] Probabilities)
{
    /// <summary>The <paramref name="count"/> most probable classes, most probable first (ties: lower class index first).</summary>
    public IReadOnlyList<(int Label, float Probability)> Top(int count)
        => Probabilities.Select((p, label) => (Label: label, Probability: p))
            .OrderByDescending(x => x.Probability)
            .ThenBy(x => x.Label)
            .Take(Math.Max(0, count))
            .ToList();
}
