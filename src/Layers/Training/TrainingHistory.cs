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
    float? ValidationAccuracy, double Seconds, double SamplesPerSecond);

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
