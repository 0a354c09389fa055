namespace NanoNet.Metrics;

/// <summary>
/// Area under the ROC curve, computed as Keras's <c>AUC</c> does by default: the true- and false-positive
/// rates at <see cref="Thresholds"/> = 200 evenly spaced thresholds (−ε, 1/199, 2/199, …, 198/199, 1 + ε),
/// joined by the trapezoidal rule (Keras's <c>summation_method="interpolation"</c> for ROC). It is an
/// approximation of the exact (rank-based) AUC with an error of the order of 1/Thresholds, and agrees with
/// Keras's figure to float round-off.
/// </summary>
/// <remarks>
/// State: for positives and for negatives (a non-zero target is positive), a histogram of how many
/// thresholds each prediction exceeds (Thresholds + 1 buckets). TP at threshold i is then the number of
/// positives exceeding more than i thresholds, so an update is O(1) per prediction rather than
/// O(Thresholds), and states still add.
/// </remarks>
public sealed class Auc : Metric
{
    private readonly float[] _thresholds;

    /// <summary>Creates the metric.</summary>
    /// <param name="thresholds">Number of thresholds (Keras's <c>num_thresholds</c>, at least 3).</param>
    /// <param name="name">Name in the history.</param>
    public Auc(int thresholds = 200, string name = "auc")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(thresholds, 3);
        Thresholds = thresholds;
        Name = name;
        _thresholds = new float[thresholds];
        _thresholds[0] = -1e-7f;
        for (int i = 1; i < thresholds - 1; i++)
            _thresholds[i] = (float)(i * 1.0 / (thresholds - 1));
        _thresholds[^1] = 1f + 1e-7f;
    }

    /// <summary>Number of thresholds.</summary>
    public int Thresholds { get; }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override int StateSize => 2 * (Thresholds + 1);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state) =>
        Update(predictions, targets, columns, default, state);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, ReadOnlySpan<float> sampleWeights, Span<double> state)
    {
        RequireDenseTargets(predictions, targets);
        var weights = new ExampleWeights(sampleWeights, predictions.Length, Name);
        int buckets = Thresholds + 1;
        for (int i = 0; i < predictions.Length; i++)
            state[(targets[i] != 0f ? 0 : buckets) + ThresholdsExceeded(predictions[i])] += weights[i];
    }

    /// <summary>How many thresholds p exceeds: they are increasing, so it is the first index with p ≤ threshold.</summary>
    private int ThresholdsExceeded(float p)
    {
        int guess = Math.Clamp((int)(p * (Thresholds - 1)), 0, Thresholds - 1);
        while (guess > 0 && !(p > _thresholds[guess - 1]))
            guess--;
        while (guess < Thresholds && p > _thresholds[guess])
            guess++;
        return guess;
    }

    /// <inheritdoc />
    public override float Result(ReadOnlySpan<double> state)
    {
        int buckets = Thresholds + 1;
        ReadOnlySpan<double> positives = state[..buckets], negatives = state[buckets..];
        double totalPositives = 0, totalNegatives = 0;
        foreach (double count in positives) totalPositives += count;
        foreach (double count in negatives) totalNegatives += count;
        // TP(i) = positives exceeding threshold i = those in buckets i + 1 …; walk i upwards from TP(−1) = all.
        double truePositives = totalPositives, falsePositives = totalNegatives;
        double area = 0, previousTpr = 0, previousFpr = 0;
        for (int i = 0; i < Thresholds; i++)
        {
            truePositives -= positives[i];
            falsePositives -= negatives[i];
            double tpr = totalPositives == 0 ? 0 : truePositives / totalPositives;
            double fpr = totalNegatives == 0 ? 0 : falsePositives / totalNegatives;
            if (i > 0)
                area += (previousFpr - fpr) * (previousTpr + tpr) / 2;
            (previousTpr, previousFpr) = (tpr, fpr);
        }
        return (float)area;
    }
}
