namespace NanoNet.Metrics;

/// <summary>
/// A quantity reported during training and evaluation (Keras's <c>metrics=[...]</c>), computed over the
/// whole epoch rather than averaged per batch: a metric keeps running sums (its state) that each batch
/// adds to, and its value is computed from the epoch's sums. Precision is TP/(TP + FP) over the epoch,
/// not the mean of per-batch precisions.
/// </summary>
/// <remarks>
/// <para><b>Sample weights.</b> As in Keras, the metrics given to <c>Compile(..., metrics)</c> (Keras's
/// <c>metrics=</c>) ignore sample weights: <see cref="Data.Dataset.SampleWeights"/> and <c>Fit</c>'s
/// <c>classWeight</c> (which <c>Fit</c> turns into sample weights) change the loss, never these metrics. The
/// metrics given as <c>weightedMetrics</c> (Keras's <c>weighted_metrics=</c>) count every value with its
/// example's weight, through <see cref="Update(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{float}, Span{double})"/>:
/// a weighted accuracy is Σ wₙ·correctₙ / Σ wₙ, a weighted precision sums wₙ into its true and false positives,
/// a weighted MAE is Σ wₙ·|eₙ| / Σ wₙ (each example's weight applying to every value of its row, as Keras broadcasts it).
/// Without sample weights a weighted metric equals its unweighted twin.</para>
/// <para>A metric object only describes the computation; the state lives with the training loop (one per run
/// and per <c>Evaluate</c> call), so one compiled model can be evaluated on several threads at once. Every
/// state is a sum, so batches (and threads) combine by adding states. Predictions arrive after the
/// output's activation (probabilities for a sigmoid or softmax output, even when the loss fused it away).</para>
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

    /// <summary>
    /// Adds one batch to <paramref name="state"/>, each value counted with the weight of its example (Keras's
    /// <c>weighted_metrics</c>; see the class remarks). Empty weights give the unweighted
    /// <see cref="Update(ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{double})"/>. Every built-in metric
    /// takes weights; a custom metric that does not override this cannot be a weighted metric.
    /// </summary>
    /// <param name="predictions">The batch's outputs, row-major with <paramref name="columns"/> values per row.</param>
    /// <param name="targets">As in the unweighted update.</param>
    /// <param name="columns">The output's last axis.</param>
    /// <param name="sampleWeights">One weight per example (the batch's first axis), or empty.</param>
    /// <param name="state">The running sums (<see cref="StateSize"/> of them).</param>
    /// <exception cref="NotSupportedException">Weights were given to a metric that does not take them.</exception>
    public virtual void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns, ReadOnlySpan<float> sampleWeights, Span<double> state)
    {
        if (!sampleWeights.IsEmpty)
            throw new NotSupportedException($"Metric '{Name}' ({GetType().Name}) does not take sample weights: override Update(predictions, targets, columns, sampleWeights, state) to use it as a weighted metric.");
        Update(predictions, targets, columns, state);
    }

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

    /// <summary>
    /// The weight of value (or row) <c>i</c> of a batch of <c>count</c> values (or rows), from one weight per
    /// example: 1 without weights.
    /// </summary>
    private protected readonly ref struct ExampleWeights
    {
        private readonly ReadOnlySpan<float> _weights;
        private readonly int _perExample;

        public ExampleWeights(ReadOnlySpan<float> weights, int count, string metric)
        {
            _weights = weights;
            _perExample = 1;
            if (weights.IsEmpty)
                return;
            if (count % weights.Length != 0)
                throw new ArgumentException($"Metric '{metric}': {weights.Length} sample weights (one per example) do not divide the batch's {count} values.");
            _perExample = Math.Max(1, count / weights.Length);
        }

        public bool IsEmpty => _weights.IsEmpty;

        public float this[int i] => _weights.IsEmpty ? 1f : _weights[i / _perExample];
    }

    /// <summary>numerator / denominator, or 0 when the denominator is 0 (Keras's divide_no_nan).</summary>
    private protected static float Ratio(double numerator, double denominator) => denominator == 0 ? 0f : (float)(numerator / denominator);
}
