namespace NanoNet.Metrics;

/// <summary>
/// A quantity reported during training and evaluation (Keras's <c>metrics=[...]</c>), computed over the
/// whole epoch rather than averaged per batch: a metric keeps running sums (its state) that each batch
/// adds to, and its value is computed from the epoch's sums. Precision is TP/(TP + FP) over the epoch,
/// not the mean of per-batch precisions.
/// </summary>
/// <remarks>
/// A metric object only describes the computation; the state lives with the training loop (one per run
/// and per <c>Evaluate</c> call), so one compiled model can be evaluated on several threads at once. Every
/// state is a sum, so batches (and threads) combine by adding states. Predictions arrive after the
/// output's activation (probabilities for a sigmoid or softmax output, even when the loss fused it away).
/// </remarks>
public abstract class Metric
{
    /// <summary>The name in the history and the progress line, as Keras names it (e.g. "auc", "precision").</summary>
    public abstract string Name { get; }

    /// <summary>How many running sums the state holds.</summary>
    public abstract int StateSize { get; }

    /// <summary>
    /// Whether the metric needs the output's activation applied: false for argmax-based metrics, which a
    /// softmax does not change, so a softmax output fused with its loss is not computed just for them.
    /// </summary>
    public virtual bool NeedsActivatedOutputs => true;

    /// <summary>Adds one batch to <paramref name="state"/>.</summary>
    /// <param name="predictions">The batch's outputs, row-major with <paramref name="columns"/> values per row.</param>
    /// <param name="targets">The batch's targets: one value per prediction, or one class id per row for the sparse metrics.</param>
    /// <param name="columns">The output's last axis.</param>
    /// <param name="state">The running sums (<see cref="StateSize"/> of them).</param>
    public abstract void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, Span<double> state);

    /// <summary>The metric's value from the summed state (0 when nothing was counted).</summary>
    public abstract float Result(ReadOnlySpan<double> state);

    /// <summary>
    /// A metric by its Keras name: "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    /// "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy" (k = 5), "precision", "recall",
    /// "auc", "mae" (or "mean_absolute_error"), "rmse" (or "root_mean_squared_error").
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static Metric FromName(string name) => name switch
    {
        "binary_accuracy" => new BinaryAccuracy(),
        "categorical_accuracy" => new CategoricalAccuracy(),
        "sparse_categorical_accuracy" => new SparseCategoricalAccuracy(),
        "top_k_categorical_accuracy" => new TopKCategoricalAccuracy(),
        "sparse_top_k_categorical_accuracy" => new SparseTopKCategoricalAccuracy(),
        "precision" => new Precision(),
        "recall" => new Recall(),
        "auc" => new Auc(),
        "mae" or "mean_absolute_error" => new MeanAbsoluteErrorMetric(),
        "rmse" or "root_mean_squared_error" => new RootMeanSquaredError(),
        _ => throw new ArgumentException(
            $"Unknown metric \"{name}\"; known: binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy, " +
            "sparse_top_k_categorical_accuracy, precision, recall, auc, mae, rmse.", nameof(name)),
    };

    /// <summary>Checks a batch has one target per prediction.</summary>
    private protected void RequireDenseTargets(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        if (targets.Length != predictions.Length)
            throw new ArgumentException($"Metric '{Name}': {predictions.Length} predictions need as many targets, got {targets.Length}.");
    }

    /// <summary>Checks a batch has one class id per row of predictions.</summary>
    private protected void RequireSparseTargets(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns)
    {
        if (targets.Length * columns != predictions.Length)
            throw new ArgumentException($"Metric '{Name}': {predictions.Length / Math.Max(1, columns)} rows of predictions need one class id each, got {targets.Length} targets.");
    }

    /// <summary>numerator / denominator, or 0 when the denominator is 0 (Keras's divide_no_nan).</summary>
    private protected static float Ratio(double numerator, double denominator) => denominator == 0 ? 0f : (float)(numerator / denominator);
}
