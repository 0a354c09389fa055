namespace NanoNet.Layers;

/// <summary>What one epoch of training measured.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Loss">Mean training loss over the epoch's batches (weighted by batch size).</param>
/// <param name="Accuracy">Training accuracy, for classification losses.</param>
/// <param name="ValidationLoss">Loss on the validation data, when given.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation data, when given and classification.</param>
/// <param name="Seconds">Wall time of the training part of the epoch.</param>
/// <param name="SamplesPerSecond">Training throughput.</param>
public sealed record EpochMetrics(int Epoch, float Loss, float? Accuracy, float? ValidationLoss,
    float? ValidationAccuracy, double Seconds, double SamplesPerSecond)
{
    /// <summary>The metric names callbacks can monitor, as Keras spells them.</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["loss", "accuracy", "val_loss", "val_accuracy"];

    /// <summary>
    /// A metric by its Keras name: "loss", "accuracy", "val_loss" or "val_accuracy"; null when this epoch
    /// did not measure it (no validation data, or not a classification loss).
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="MetricNames"/>.</exception>
    public float? GetMetric(string name) => name switch
    {
        "loss" => Loss,
        "accuracy" => Accuracy,
        "val_loss" => ValidationLoss,
        "val_accuracy" => ValidationAccuracy,
        _ when Outputs.TryGetValue(name, out float value) => value,
        _ when Metrics.TryGetValue(name, out float value) => value,
        _ => throw new ArgumentException($"Unknown metric '{name}'; known: {string.Join(", ", MetricNames.Concat(Outputs.Keys).Concat(Metrics.Keys))}.", nameof(name)),
    };

    /// <summary>
    /// Whether a callback may monitor <paramref name="name"/>: one of <see cref="MetricNames"/>, or the name of
    /// a compiled metric or an output's loss or accuracy, Keras style (optionally "val_"-prefixed): ending in
    /// "loss", "accuracy", "auc", "precision", "recall", "mae" or "rmse" (whether the run measures it is
    /// checked when the epoch's value is read).
    /// </summary>
    public static bool IsMetricName(string name) =>
        MetricNames.Contains(name) || s_metricEndings.Any(ending => name.EndsWith(ending, StringComparison.Ordinal));

    private static readonly string[] s_metricEndings = ["loss", "accuracy", "auc", "precision", "recall", "mae", "rmse", "mean_absolute_error", "root_mean_squared_error"];

    /// <summary>
    /// Every metric this epoch measured, by its Keras name (Keras's <c>logs</c>): "loss", "accuracy",
    /// "val_loss", "val_accuracy" when measured, the compiled metrics and the per-output ones.
    /// </summary>
    public IReadOnlyDictionary<string, float> ToLogs()
    {
        var logs = new Dictionary<string, float> { ["loss"] = Loss };
        if (Accuracy is { } accuracy) logs["accuracy"] = accuracy;
        if (ValidationLoss is { } validationLoss) logs["val_loss"] = validationLoss;
        if (ValidationAccuracy is { } validationAccuracy) logs["val_accuracy"] = validationAccuracy;
        foreach ((string name, float value) in Metrics.Concat(Outputs))
            logs[name] = value;
        return logs;
    }

    /// <summary>The compiled metrics by name ("auc", "precision", "val_auc", ...); empty when none were compiled.</summary>
    public IReadOnlyDictionary<string, float> Metrics { get; init; } = new Dictionary<string, float>();

    /// <summary>
    /// For a model with several outputs, each output's metrics by name ("dense_1_loss", "dense_1_accuracy",
    /// and "val_" ones); empty for one output.
    /// </summary>
    public IReadOnlyDictionary<string, float> Outputs { get; init; } = new Dictionary<string, float>();
}

/// <summary>The per-epoch record returned by <c>Fit</c>.</summary>
public sealed class TrainingHistory
{
    private readonly List<EpochMetrics> _epochs = [];

    /// <summary>One entry per completed epoch.</summary>
    public IReadOnlyList<EpochMetrics> Epochs => _epochs;

    /// <summary>The last epoch's metrics.</summary>
    public EpochMetrics Last => _epochs.Count > 0 ? _epochs[^1] : throw new InvalidOperationException("No epoch has completed.");

    internal void Add(EpochMetrics metrics) => _epochs.Add(metrics);
}
