namespace NanoNet.Layers;

/// <summary>
/// A hook into <c>Model.Fit</c>,
/// Keras style: override the moments you care about; the others do nothing.
/// </summary>
/// <remarks>
/// <para>
/// Order within one <c>Fit</c>: <see cref="OnTrainBegin"/>; then per epoch <see cref="OnEpochBegin"/>,
/// <see cref="OnBatchEnd"/> after every gradient step, and <see cref="OnEpochEnd"/> after the validation
/// data (if any) is evaluated; finally <see cref="OnTrainEnd"/>. Callbacks run in list order at each moment.
/// If the loss becomes non-finite, <c>Fit</c> throws <see cref="ArithmeticException"/> and
/// <see cref="OnTrainEnd"/> is not called (unless a <see cref="TerminateOnNaN"/> is among the callbacks).
/// </para>
/// <para>
/// To stop training, set <see cref="Layers.Model.StopTraining"/> on <see cref="Model"/>: <c>Fit</c> stops
/// after the current batch (that partial epoch is still evaluated and reported) or, when set in
/// <see cref="OnEpochEnd"/>, before the next epoch.
/// </para>
/// </remarks>
public abstract class Callback
{
    /// <summary>
    /// The model being trained. <c>Fit</c> sets it before <see cref="OnTrainBegin"/>; set it yourself to
    /// drive a callback by hand (e.g. feeding it metrics in a test).
    /// </summary>
    public Model? Model { get; set; }

    /// <summary>Called once when <c>Fit</c> starts, before the first epoch.</summary>
    public virtual void OnTrainBegin() { }

    /// <summary>Called at the start of every epoch.</summary>
    /// <param name="epoch">1-based epoch number.</param>
    public virtual void OnEpochBegin(int epoch) { }

    /// <summary>Called after every gradient step (forward, backward and optimizer update of one batch).</summary>
    /// <param name="batch">The step's number, size and loss.</param>
    public virtual void OnBatchEnd(BatchMetrics batch) { }

    /// <summary>Called after every epoch, once the validation data (if any) has been evaluated.</summary>
    /// <param name="metrics">The epoch's record, the same object that goes into the returned history.</param>
    public virtual void OnEpochEnd(EpochMetrics metrics) { }

    /// <summary>Called once when <c>Fit</c> finishes normally (all epochs, or stopped).</summary>
    /// <param name="history">The epochs that ran.</param>
    public virtual void OnTrainEnd(TrainingHistory history) { }

    /// <summary>
    /// Whether <c>Fit</c> should hand a batch with a NaN or infinite loss to the callbacks (without back-propagating
    /// or updating) instead of throwing; <see cref="TerminateOnNaN"/> says yes and stops training.
    /// </summary>
    internal virtual bool ToleratesNonFiniteLoss => false;

    /// <summary><see cref="Model"/>, or an exception naming the callback when it is not set.</summary>
    private protected Model RequireModel() =>
        Model ?? throw new InvalidOperationException($"{GetType().Name}: no model attached; Fit sets Callback.Model, or set it before calling the hooks by hand.");
}

/// <summary>What one gradient step measured, as passed to <see cref="Callback.OnBatchEnd"/>.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Batch">1-based batch number within the epoch.</param>
/// <param name="Step">1-based step number since <c>Fit</c> started (counts across epochs).</param>
/// <param name="Size">Examples in the batch (the last batch of an epoch may be smaller).</param>
/// <param name="Loss">The batch's mean loss, computed by the forward pass before the update.</param>
/// <param name="Accuracy">The batch's accuracy (before the update), for classification losses.</param>
public readonly record struct BatchMetrics(int Epoch, int Batch, long Step, int Size, float Loss, float? Accuracy);
