using Cct.Training.Reports;

namespace Cct.Tests.Training;

/// <summary>Known values worked out by hand from sklearn's definitions (zero_division=0).</summary>
public sealed class MetricsTests
{
    private const double Tol = 1e-12;

    // Class 2 is never predicted: its precision is 0/0 → 0.
    private static readonly int[] True3 = [0, 1, 2, 0, 1, 2, 0, 1];
    private static readonly int[] Pred3 = [0, 0, 1, 0, 1, 1, 0, 1];

    [Test]
    public void ConfusionMatrixHasTrueRowsAndPredictedColumns()
    {
        var m = Metrics.ConfusionMatrix(True3, Pred3, 3);
        Assert.That(m, Is.EqualTo(new[] { new[] { 3, 0, 0 }, [1, 2, 0], [0, 2, 0] }));
        Assert.That(Metrics.Accuracy(m), Is.EqualTo(5.0 / 8).Within(Tol));
    }

    [Test]
    public void PerClassScoresAndAveragesFollowSklearn()
    {
        var scores = Metrics.PerClass(Metrics.ConfusionMatrix(True3, Pred3, 3));
        // class 0: tp 3, fp 1, fn 0; class 1: tp 2, fp 2, fn 1; class 2: tp 0, fp 0, fn 2.
        AssertScores(scores[0], 0.75, 1.0, 6.0 / 7, 3);
        AssertScores(scores[1], 0.5, 2.0 / 3, 4.0 / 7, 3);
        AssertScores(scores[2], 0.0, 0.0, 0.0, 2);
        AssertScores(Metrics.MacroAverage(scores), 1.25 / 3, 5.0 / 9, 10.0 / 21, 8);
        AssertScores(Metrics.WeightedAverage(scores), 3.75 / 8, 5.0 / 8, 15.0 / 28, 8);
    }

    [Test]
    public void F1IsHarmonicMeanOfPrecisionAndRecall()
    {
        var scores = Metrics.PerClass(Metrics.ConfusionMatrix(True3, Pred3, 3));
        foreach (var s in scores.Where(s => s.Precision + s.Recall > 0))
        {
            Assert.That(s.F1, Is.EqualTo(2 * s.Precision * s.Recall / (s.Precision + s.Recall)).Within(Tol));
        }
    }

    [Test]
    public void RocCurveGroupsTiedScoresAndStartsAtOrigin()
    {
        // Positive class 0 at samples 0, 2, 4. Scores tie pairwise: (0.9 pos, 0.9 neg), (0.6 pos, 0.6 neg).
        int[] labels = [0, 1, 0, 2, 0, 1];
        float[] p0 = [0.9f, 0.9f, 0.6f, 0.6f, 0.3f, 0.1f];
        var roc = Metrics.Roc(labels, WithRest(p0, 3), 3, 0);
        Assert.That(roc.Thresholds, Is.EqualTo(new[] { double.PositiveInfinity, 0.9f, 0.6f, 0.3f, 0.1f }));
        Assert.That(roc.TruePositiveRate, Is.EqualTo(new[] { 0, 1.0 / 3, 2.0 / 3, 1, 1 }).Within(Tol));
        Assert.That(roc.FalsePositiveRate, Is.EqualTo(new[] { 0, 1.0 / 3, 2.0 / 3, 2.0 / 3, 1 }).Within(Tol));
        // Trapezoids 1/18 + 1/6 + 0 + 1/3; also the Mann–Whitney count (2.5 + 1.5 + 1) / 9.
        Assert.That(roc.Auc, Is.EqualTo(5.0 / 9).Within(Tol));
    }

    [Test]
    public void AucEqualsTheTieAwareRankStatistic()
    {
        // roc_auc_score = P(score of a positive > score of a negative) + ½ P(tie); coarse scores force many ties.
        const int n = 60, k = 4;
        var random = new Random(7);
        var labels = Enumerable.Range(0, n).Select(_ => random.Next(k)).ToArray();
        var probabilities = Enumerable.Range(0, n * k).Select(_ => random.Next(6) / 5f).ToArray();
        for (var c = 0; c < k; c++)
        {
            double wins = 0, pairs = 0;
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    if (labels[i] == c && labels[j] != c)
                    {
                        var (si, sj) = (probabilities[(i * k) + c], probabilities[(j * k) + c]);
                        wins += si > sj ? 1 : si == sj ? 0.5 : 0;
                        pairs++;
                    }
                }
            }

            Assert.That(Metrics.Roc(labels, probabilities, k, c).Auc, Is.EqualTo(wins / pairs).Within(1e-12), $"class {c}");
        }
    }

    [Test]
    public void RocOfAClassWithoutPositivesIsUndefined()
    {
        int[] labels = [0, 1, 0];
        var roc = Metrics.Roc(labels, WithRest([0.2f, 0.5f, 0.7f], 3), 3, 2);
        Assert.That(roc.TruePositiveRate, Has.All.NaN);
        Assert.That(roc.Auc, Is.NaN);
    }

    [Test]
    public void PerfectAndReversedScoresGiveAucOneAndZero()
    {
        int[] labels = [1, 1, 0, 0];
        float[] perfect = [0.1f, 0.9f, 0.2f, 0.8f, 0.7f, 0.3f, 0.6f, 0.4f];
        Assert.That(Metrics.Roc(labels, perfect, 2, 1).Auc, Is.EqualTo(1.0));
        float[] reversed = [0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.4f, 0.6f];
        Assert.That(Metrics.Roc(labels, reversed, 2, 1).Auc, Is.EqualTo(0.0));
    }

    [Test]
    public void BadInputsAreRejectedWithClearErrors()
    {
        Assert.That(() => Metrics.ConfusionMatrix([0, 3], [0, 1], 3), Throws.ArgumentException.With.Message.Contains("trueLabels[1] is 3"));
        Assert.That(() => Metrics.ConfusionMatrix([0, 1], [0], 3), Throws.ArgumentException.With.Message.Contains("2 true labels but 1 predicted"));
        Assert.That(() => Metrics.Roc([0, 1], new float[5], 3, 0), Throws.ArgumentException.With.Message.Contains("expected 2 samples × 3 classes"));
    }

    private static void AssertScores(ClassScores actual, double precision, double recall, double f1, int support)
    {
        Assert.Multiple(() =>
        {
            Assert.That(actual.Precision, Is.EqualTo(precision).Within(Tol), "precision");
            Assert.That(actual.Recall, Is.EqualTo(recall).Within(Tol), "recall");
            Assert.That(actual.F1, Is.EqualTo(f1).Within(Tol), "f1");
            Assert.That(actual.Support, Is.EqualTo(support), "support");
        });
    }

    /// <summary>Rows (N, K) whose column 0 is <paramref name="column0"/>, the rest sharing the remainder.</summary>
    internal static float[] WithRest(float[] column0, int k)
    {
        var rows = new float[column0.Length * k];
        for (var i = 0; i < column0.Length; i++)
        {
            rows[i * k] = column0[i];
            for (var c = 1; c < k; c++)
            {
                rows[(i * k) + c] = (1 - column0[i]) / (k - 1);
            }
        }

        return rows;
    }
}
