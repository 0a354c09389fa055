namespace NanoNet.Layers;

/// <summary>
/// A callback made of delegates, for logging or stopping without writing a class (Keras's
/// <c>LambdaCallback</c>). Any delegate may be null.
/// </summary>
/// <example>
/// <code>
/// var log = new LambdaCallback(
///     onBatchEnd: b => losses.Add(b.Loss),
///     onEpochEnd: m => { if (m.ValidationAccuracy > 0.9f) model.StopTraining = true; });
/// model.Fit(train, batchSize: 64, epochs: 20, validation: test, callbacks: [log]);
/// </code>
/// </example>
/// <param name="onTrainBegin">Called by <see cref="OnTrainBegin"/>.</param>
/// <param name="onEpochBegin">Called by <see cref="OnEpochBegin"/> with the 1-based epoch.</param>
/// <param name="onBatchEnd">Called by <see cref="OnBatchEnd"/> after every step.</param>
/// <param name="onEpochEnd">Called by <see cref="OnEpochEnd"/>.</param>
/// <param name="onTrainEnd">Called by <see cref="OnTrainEnd"/>.</param>
public sealed class LambdaCallback(
    Action? onTrainBegin = null,
    Action<int>? onEpochBegin = null,
    Action<BatchMetrics>? onBatchEnd = null,
    Action<EpochMetrics>? onEpochEnd = null,
    Action<TrainingHistory>? onTrainEnd = null) : Callback
{
    /// <inheritdoc/>
    public override void OnTrainBegin() => onTrainBegin?.Invoke();

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch) => onEpochBegin?.Invoke(epoch);

    /// <inheritdoc/>
    public override void OnBatchEnd(BatchMetrics batch) => onBatchEnd?.Invoke(batch);

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics) => onEpochEnd?.Invoke(metrics);

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingHistory history) => onTrainEnd?.Invoke(history);
}
