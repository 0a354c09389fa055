namespace NanoNet.Layers;

/// <summary>
/// Stops training, without an exception, when a batch's loss is NaN or infinite (Keras's
/// <c>TerminateOnNaN</c>). Without it <c>Fit</c> throws <see cref="ArithmeticException"/> at such a batch.
/// </summary>
/// <remarks>
/// With this callback present, a batch whose loss is not finite is not back-propagated and makes no update
/// (so the weights stay those of the last good step, where Keras would already have applied it); it is
/// reported to <see cref="Callback.OnBatchEnd"/> with its loss, this callback sets
/// <see cref="Model.StopTraining"/>, and, as with any stop, the epoch is still evaluated and reported (its
/// mean loss is then not finite) and <see cref="Callback.OnTrainEnd"/> runs.
/// </remarks>
public sealed class TerminateOnNaN : Callback
{
    /// <summary>The step at which training was stopped, or null.</summary>
    public long? StoppedAtStep { get; private set; }

    /// <inheritdoc />
    internal override bool ToleratesNonFiniteLoss => true;

    /// <inheritdoc />
    public override void OnTrainBegin() => StoppedAtStep = null;

    /// <inheritdoc />
    public override void OnBatchEnd(BatchMetrics batch)
    {
        if (float.IsFinite(batch.Loss))
            return;
        Model model = RequireModel();
        StoppedAtStep = batch.Step;
        model.StopTraining = true;
        model.Output.WriteLine($"Batch {batch.Batch}: invalid loss ({batch.Loss}), terminating training.");
    }
}
