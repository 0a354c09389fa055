namespace NanoNet.Metrics;

/// <summary>Mean absolute error Σ|p − t| / n over the epoch (Keras's <c>mae</c>). State: Σ|p − t|, n.</summary>
public sealed class MeanAbsoluteErrorMetric(string name = "mae") : Metric
{
    /// <inheritdoc />
    public override string Name { get; } = name;

    /// <inheritdoc />
    public override int StateSize => 2;

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state) =>
        Update(predictions, targets, columns, default, state);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, ReadOnlySpan<float> sampleWeights, Span<double> state)
    {
        RequireDenseTargets(predictions, targets);
        var weights = new ExampleWeights(sampleWeights, predictions.Length, Name);
        double sum = 0, total = 0;
        for (int i = 0; i < predictions.Length; i++)
        {
            float w = weights[i];
            sum += w * Math.Abs((double)predictions[i] - targets[i]);
            total += w;
        }
        state[0] += sum;
        state[1] += total;
    }

    /// <inheritdoc />
    public override float Result(ReadOnlySpan<double> state) => Ratio(state[0], state[1]);
}

/// <summary>
/// Root mean squared error √(Σ(p − t)² / n) over the epoch (Keras's <c>RootMeanSquaredError</c>): the root
/// of the epoch's mean, not a mean of per-batch roots. State: Σ(p − t)², n.
/// </summary>
public sealed class RootMeanSquaredError(string name = "rmse") : Metric
{
    /// <inheritdoc />
    public override string Name { get; } = name;

    /// <inheritdoc />
    public override int StateSize => 2;

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state) =>
        Update(predictions, targets, columns, default, state);

    /// <inheritdoc />
    public override void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, ReadOnlySpan<float> sampleWeights, Span<double> state)
    {
        RequireDenseTargets(predictions, targets);
        var weights = new ExampleWeights(sampleWeights, predictions.Length, Name);
        double sum = 0, total = 0;
        for (int i = 0; i < predictions.Length; i++)
        {
            float w = weights[i];
            double d = (double)predictions[i] - targets[i];
            sum += w * d * d;
            total += w;
        }
        state[0] += sum;
        state[1] += total;
    }

    /// <inheritdoc />
    public override float Result(ReadOnlySpan<double> state) => (float)Math.Sqrt(Ratio(state[0], state[1]));
}
