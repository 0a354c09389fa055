namespace NanoNet.Metrics;

/// <summary>
/// Counts of a binary decision over every prediction: p &gt; threshold is a predicted positive, a non-zero
/// target a real one (Keras's confusion-matrix metrics). State: true positives, false positives, false negatives.
/// </summary>
public abstract class ConfusionMetric : Metric
{
    private protected ConfusionMetric(float threshold, string name)
    {
        if (!(threshold >= 0f && threshold <= 1f))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "A threshold must be in [0, 1].");
        Threshold = threshold;
        Name = name;
    }

    /// <summary>The decision threshold.</summary>
    public float Threshold { get; }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override int StateSize => 3;

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state) =>
        Update(predictions, targets, columns, default, state);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, ReadOnlySpan<float> sampleWeights, Span<double> state)
    {
        RequireDenseTargets(predictions, targets);
        var weights = new ExampleWeights(sampleWeights, predictions.Length, Name);
        double truePositives = 0, falsePositives = 0, falseNegatives = 0;
        for (int i = 0; i < predictions.Length; i++)
        {
            bool predicted = predictions[i] > Threshold, actual = targets[i] != 0f;
            if (predicted && actual) truePositives += weights[i];
            else if (predicted) falsePositives += weights[i];
            else if (actual) falseNegatives += weights[i];
        }
        state[0] += truePositives;
        state[1] += falsePositives;
        state[2] += falseNegatives;
    }
}

/// <summary>Precision TP / (TP + FP) over the epoch (Keras's <c>Precision</c>, threshold 0.5).</summary>
public sealed class Precision(float threshold = 0.5f, string name = "precision") : ConfusionMetric(threshold, name)
{
    /// <inheritdoc />
    public override float Result(ReadOnlySpan<double> state) => Ratio(state[0], state[0] + state[1]);
}

/// <summary>Recall TP / (TP + FN) over the epoch (Keras's <c>Recall</c>, threshold 0.5).</summary>
public sealed class Recall(float threshold = 0.5f, string name = "recall") : ConfusionMetric(threshold, name)
{
    /// <inheritdoc />
    public override float Result(ReadOnlySpan<double> state) => Ratio(state[0], state[0] + state[2]);
}
