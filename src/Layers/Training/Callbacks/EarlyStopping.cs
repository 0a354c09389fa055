using System.Globalization;

namespace NanoNet.Layers;

/// <summary>
/// Stops training when a monitored metric has stopped improving (Keras's <c>EarlyStopping</c>).
/// </summary>
/// <remarks>
/// <para>
/// After each epoch the monitored value is compared with the best so far: it improves when it is better
/// by more than <c>minDelta</c> (lower for losses, higher for accuracy). After <c>patience</c> epochs in a
/// row without improvement the callback sets <see cref="Layers.Model.StopTraining"/>: with patience 3 and
/// the best value at epoch 5, training stops after epoch 8. Patience 0 behaves as 1 (stop after the first
/// epoch that does not improve), as in Keras. The first epoch always counts as an improvement.
/// </para>
/// <para>
/// With <c>restoreBestWeights</c> the parameters are copied at every improving epoch and written back
/// when training ends (whether it stopped early or ran all its epochs, as in Keras 3), so the model
/// ends as it was after its best epoch.
/// </para>
/// </remarks>
public sealed class EarlyStopping : Callback
{
    private readonly MonitoredMetric _monitor;
    private float[][]? _bestWeights;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">"val_loss" (the default), "val_accuracy", "loss" or "accuracy".</param>
    /// <param name="patience">Number of epochs without improvement after which training stops (≥ 0; 0 acts as 1).</param>
    /// <param name="minDelta">Smallest change that counts as an improvement (≥ 0).</param>
    /// <param name="mode">Whether lower or higher is better; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <param name="restoreBestWeights">Put back the weights of the best epoch when training ends.</param>
    /// <param name="verbose">Write a line to <see cref="Layers.Model.Output"/> when stopping and restoring.</param>
    public EarlyStopping(string monitor = "val_loss", int patience = 0, float minDelta = 0f,
        MonitorMode mode = MonitorMode.Auto, bool restoreBestWeights = false, bool verbose = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        _monitor = new MonitoredMetric(monitor, mode, minDelta);
        Patience = patience;
        RestoreBestWeights = restoreBestWeights;
        Verbose = verbose;
    }

    /// <summary>The monitored metric's name.</summary>
    public string Monitor => _monitor.Name;

    /// <summary>Number of epochs without improvement after which training stops.</summary>
    public int Patience { get; }

    /// <summary>Smallest change that counts as an improvement.</summary>
    public float MinDelta => _monitor.MinDelta;

    /// <summary>Whether the best epoch's weights are restored when training ends.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>Whether stopping and restoring are reported on <see cref="Layers.Model.Output"/>.</summary>
    public bool Verbose { get; }

    /// <summary>The best monitored value so far (±∞ before the first epoch).</summary>
    public float Best { get; private set; }

    /// <summary>The epoch that produced <see cref="Best"/> (0 before the first epoch).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>The epoch after which this callback stopped training, or 0 if it did not.</summary>
    public int StoppedEpoch { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        Best = _monitor.Worst;
        BestEpoch = 0;
        Wait = 0;
        StoppedEpoch = 0;
        _bestWeights = null;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        float current = _monitor.ValueOf(metrics, nameof(EarlyStopping));
        if (BestEpoch == 0 || _monitor.IsImprovement(current, Best))
        {
            Best = current;
            BestEpoch = metrics.Epoch;
            Wait = 0;
            if (RestoreBestWeights)
                SaveWeights();
            return;
        }
        Wait++;
        if (Wait >= Patience) // Wait ≥ 1 here, so patience 0 and 1 both stop at the first epoch without improvement, as in Keras
        {
            StoppedEpoch = metrics.Epoch;
            Model model = RequireModel();
            model.StopTraining = true;
            if (Verbose)
                model.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Epoch {metrics.Epoch}: early stopping ({Monitor} has not improved on {Best:0.0000} from epoch {BestEpoch} for {Wait} epochs)"));
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingHistory history)
    {
        if (!RestoreBestWeights || _bestWeights is null)
            return;
        Model model = RequireModel();
        IReadOnlyList<Tensor> parameters = model.Parameters;
        for (int i = 0; i < parameters.Count; i++)
            _bestWeights[i].CopyTo(parameters[i].Span);
        if (Verbose)
            model.Output.WriteLine($"Restoring model weights from the end of the best epoch: {BestEpoch}.");
    }

    private void SaveWeights()
    {
        IReadOnlyList<Tensor> parameters = RequireModel().Parameters;
        if (_bestWeights is null || _bestWeights.Length != parameters.Count)
            _bestWeights = new float[parameters.Count][];
        for (int i = 0; i < parameters.Count; i++)
        {
            if (_bestWeights[i]?.Length != parameters[i].Length)
                _bestWeights[i] = new float[parameters[i].Length];
            parameters[i].Span.CopyTo(_bestWeights[i]);
        }
    }
}
