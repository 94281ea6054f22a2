namespace Cct.Training.Reports;

/// <summary>Classification metrics with sklearn's definitions; undefined ratios (0/0) are 0 (<c>zero_division=0</c>).</summary>
internal static class Metrics
{
    /// <summary>Counts with rows = true class, columns = predicted class (sklearn's layout).</summary>
    /// <param name="trueLabels">true class per sample (N)</param>
    /// <param name="predictedLabels">predicted class per sample (N)</param>
    /// <param name="classCount">number of classes K</param>
    /// <returns>confusion matrix (K, K)</returns>
    public static int[][] ConfusionMatrix(ReadOnlySpan<int> trueLabels, ReadOnlySpan<int> predictedLabels, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        if (trueLabels.Length != predictedLabels.Length)
        {
            throw new ArgumentException($"{trueLabels.Length} true labels but {predictedLabels.Length} predicted labels.", nameof(predictedLabels));
        }

        var matrix = new int[classCount][];
        for (var k = 0; k < classCount; k++)
        {
            matrix[k] = new int[classCount];
        }

        for (var i = 0; i < trueLabels.Length; i++)
        {
            CheckLabel(trueLabels[i], classCount, i, nameof(trueLabels));
            CheckLabel(predictedLabels[i], classCount, i, nameof(predictedLabels));
            matrix[trueLabels[i]][predictedLabels[i]]++;
        }

        return matrix;
    }

    /// <summary>Fraction on the diagonal; 0 when there are no samples.</summary>
    /// <param name="confusion">confusion matrix (K, K)</param>
    public static double Accuracy(int[][] confusion)
    {
        long correct = 0, total = 0;
        for (var t = 0; t < confusion.Length; t++)
        {
            correct += confusion[t][t];
            total += confusion[t].Sum();
        }

        return Divide(correct, total);
    }

    /// <summary>Per-class precision tp/(tp+fp), recall tp/(tp+fn), F1 2tp/(2tp+fp+fn) and support tp+fn.</summary>
    /// <param name="confusion">confusion matrix (K, K)</param>
    /// <returns>scores (K)</returns>
    public static ClassScores[] PerClass(int[][] confusion)
    {
        var k = confusion.Length;
        var scores = new ClassScores[k];
        for (var c = 0; c < k; c++)
        {
            long tp = confusion[c][c], support = confusion[c].Sum(), predicted = 0;
            for (var t = 0; t < k; t++)
            {
                predicted += confusion[t][c];
            }

            long fp = predicted - tp, fn = support - tp;
            scores[c] = new ClassScores(Divide(tp, tp + fp), Divide(tp, tp + fn), Divide(2 * tp, (2 * tp) + fp + fn), (int)support);
        }

        return scores;
    }

    /// <summary>Unweighted mean of each score over classes; support is the total.</summary>
    public static ClassScores MacroAverage(IReadOnlyList<ClassScores> perClass) => new(
        perClass.Average(s => s.Precision),
        perClass.Average(s => s.Recall),
        perClass.Average(s => s.F1),
        perClass.Sum(s => s.Support));

    /// <summary>Mean of each score weighted by class support; 0 when the total support is 0.</summary>
    public static ClassScores WeightedAverage(IReadOnlyList<ClassScores> perClass)
    {
        var total = perClass.Sum(s => s.Support);
        double Weighted(Func<ClassScores, double> score) => total == 0 ? 0 : perClass.Sum(s => score(s) * s.Support) / total;
        return new ClassScores(Weighted(s => s.Precision), Weighted(s => s.Recall), Weighted(s => s.F1), total);
    }

    /// <summary>ROC curve of <paramref name="positiveClass"/> against the rest, scored by that class's probability.</summary>
    /// <param name="trueLabels">true class per sample (N)</param>
    /// <param name="probabilities">class scores, row-major (N, K)</param>
    /// <param name="classCount">number of classes K</param>
    /// <param name="positiveClass">the class scored against the rest</param>
    public static RocCurve Roc(ReadOnlySpan<int> trueLabels, ReadOnlySpan<float> probabilities, int classCount, int positiveClass)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(positiveClass);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(positiveClass, classCount);
        var n = trueLabels.Length;
        if (probabilities.Length != (long)n * classCount)
        {
            throw new ArgumentException($"probabilities hold {probabilities.Length} values; expected {n} samples × {classCount} classes.", nameof(probabilities));
        }

        var order = new int[n];
        var scores = new double[n];
        for (var i = 0; i < n; i++)
        {
            CheckLabel(trueLabels[i], classCount, i, nameof(trueLabels));
            order[i] = i;
            scores[i] = probabilities[(i * classCount) + positiveClass];
            if (double.IsNaN(scores[i]))
            {
                throw new ArgumentException($"probability of sample {i}, class {positiveClass} is NaN.", nameof(probabilities));
            }
        }

        Array.Sort(order, (a, b) => scores[b].CompareTo(scores[a]));
        var fps = new List<long> { 0 };
        var tps = new List<long> { 0 };
        var thresholds = new List<double> { double.PositiveInfinity };
        long tp = 0, fp = 0;
        for (var j = 0; j < n; j++)
        {
            var i = order[j];
            if (trueLabels[i] == positiveClass)
            {
                tp++;
            }
            else
            {
                fp++;
            }

            // Tied scores share one threshold, so a point is emitted only after the last sample of each tie.
            if (j == n - 1 || scores[order[j + 1]] != scores[i])
            {
                fps.Add(fp);
                tps.Add(tp);
                thresholds.Add(scores[i]);
            }
        }

        return new RocCurve(
            fps.Select(f => fp == 0 ? double.NaN : (double)f / fp).ToArray(),
            tps.Select(t => tp == 0 ? double.NaN : (double)t / tp).ToArray(),
            thresholds.ToArray());
    }

    /// <summary>∫y dx by the trapezoidal rule over points in the given order (numpy's <c>trapz</c>).</summary>
    public static double Trapezoid(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"{x.Count} x values but {y.Count} y values.", nameof(y));
        }

        double area = 0;
        for (var i = 1; i < x.Count; i++)
        {
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        }

        return area;
    }

    private static double Divide(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    private static void CheckLabel(int label, int classCount, int sample, string parameter)
    {
        if ((uint)label >= (uint)classCount)
        {
            throw new ArgumentException($"{parameter}[{sample}] is {label}; classes are 0..{classCount - 1}.", parameter);
        }
    }
}
