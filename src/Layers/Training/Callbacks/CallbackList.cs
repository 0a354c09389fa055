namespace NanoNet.Layers;

/// <summary>
/// The callbacks of one <c>Fit</c>, called in order. With none, every call is a loop over an empty array,
/// so the per-step cost of the hooks is nil.
/// </summary>
internal sealed class CallbackList
{
    private readonly Callback[] _callbacks;

    public CallbackList(Model model, IReadOnlyList<Callback>? callbacks)
    {
        _callbacks = callbacks is null ? [] : [.. callbacks];
        for (int i = 0; i < _callbacks.Length; i++)
        {
            if (_callbacks[i] is null)
                throw new ArgumentException($"callbacks[{i}] is null.", nameof(callbacks));
            _callbacks[i].Model = model;
            ToleratesNonFiniteLoss |= _callbacks[i].ToleratesNonFiniteLoss;
        }
    }

    public bool Any => _callbacks.Length > 0;

    /// <summary>Whether a callback takes over batches whose loss is not finite (<see cref="TerminateOnNaN"/>).</summary>
    public bool ToleratesNonFiniteLoss { get; }

    public void TrainBegin()
    {
        foreach (Callback c in _callbacks) c.OnTrainBegin();
    }

    public void EpochBegin(int epoch)
    {
        foreach (Callback c in _callbacks) c.OnEpochBegin(epoch);
    }

    public void BatchEnd(BatchMetrics batch)
    {
        foreach (Callback c in _callbacks) c.OnBatchEnd(batch);
    }

    public void EpochEnd(EpochMetrics metrics)
    {
        foreach (Callback c in _callbacks) c.OnEpochEnd(metrics);
    }

    public void TrainEnd(TrainingHistory history)
    {
        foreach (Callback c in _callbacks) c.OnTrainEnd(history);
    }
}
