using System.Globalization;
using NanoNet.Optim;

namespace NanoNet.Layers;

/// <summary>
/// Multiplies the optimizer's learning rate by a factor when a monitored metric has stopped improving
/// (Keras's <c>ReduceLROnPlateau</c>).
/// </summary>
/// <remarks>
/// <para>
/// After each epoch: an improvement (better than the best so far by more than <c>minDelta</c>) resets the
/// count of waiting epochs; otherwise, unless in cooldown, the count grows, and when it reaches
/// <c>patience</c> the learning rate becomes <c>max(rate · factor, minLearningRate)</c> (if it is still
/// above <c>minLearningRate</c>), the count restarts, and the next <c>cooldown</c> epochs are not counted.
/// </para>
/// <para>
/// It changes <see cref="Optimizer.LearningRate"/>, so the optimizer must not have a
/// <see cref="Optimizer.Schedule"/> (which would override it): <see cref="OnTrainBegin"/> throws then.
/// </para>
/// </remarks>
public sealed class ReduceLearningRateOnPlateau : Callback
{
    private readonly MonitoredMetric _monitor;
    private int _cooldownCounter;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">"val_loss" (the default), "val_accuracy", "loss" or "accuracy".</param>
    /// <param name="factor">Multiplier of the learning rate, in (0, 1).</param>
    /// <param name="patience">Epochs without improvement after which the rate is reduced (≥ 0; 0 acts as 1, as in Keras).</param>
    /// <param name="minLearningRate">Lower bound of the learning rate (≥ 0).</param>
    /// <param name="cooldown">Epochs after a reduction during which waiting is not counted (≥ 0).</param>
    /// <param name="minDelta">Smallest change that counts as an improvement (≥ 0; Keras's default 1e-4).</param>
    /// <param name="mode">Whether lower or higher is better; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <param name="verbose">Write a line to <see cref="Layers.Model.Output"/> at each reduction.</param>
    public ReduceLearningRateOnPlateau(string monitor = "val_loss", float factor = 0.1f, int patience = 10,
        float minLearningRate = 0f, int cooldown = 0, float minDelta = 1e-4f, MonitorMode mode = MonitorMode.Auto,
        bool verbose = false)
    {
        if (!(factor > 0f && factor < 1f))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in (0, 1): it multiplies the learning rate.");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        if (!(minLearningRate >= 0f) || float.IsInfinity(minLearningRate))
            throw new ArgumentOutOfRangeException(nameof(minLearningRate), minLearningRate, "minLearningRate must be a non-negative finite number.");
        _monitor = new MonitoredMetric(monitor, mode, minDelta);
        Factor = factor;
        Patience = patience;
        MinLearningRate = minLearningRate;
        Cooldown = cooldown;
        Verbose = verbose;
    }

    /// <summary>The monitored metric's name.</summary>
    public string Monitor => _monitor.Name;

    /// <summary>Multiplier applied to the learning rate at each reduction.</summary>
    public float Factor { get; }

    /// <summary>Epochs without improvement after which the rate is reduced.</summary>
    public int Patience { get; }

    /// <summary>Lower bound of the learning rate.</summary>
    public float MinLearningRate { get; }

    /// <summary>Epochs after a reduction during which waiting is not counted.</summary>
    public int Cooldown { get; }

    /// <summary>Whether reductions are reported on <see cref="Layers.Model.Output"/>.</summary>
    public bool Verbose { get; }

    /// <summary>The best monitored value so far (±∞ before the first epoch).</summary>
    public float Best { get; private set; }

    /// <summary>Epochs counted without improvement since the last improvement or reduction.</summary>
    public int Wait { get; private set; }

    /// <summary>Number of reductions made in this training run.</summary>
    public int Reductions { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        if (RequireModel().Optimizer is { Schedule: not null } optimizer)
            throw new InvalidOperationException(
                $"{nameof(ReduceLearningRateOnPlateau)} changes Optimizer.LearningRate, but {optimizer.GetType().Name} has a Schedule that overrides it; remove one of the two.");
        Best = _monitor.Worst;
        Wait = 0;
        _cooldownCounter = 0;
        Reductions = 0;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        float current = _monitor.ValueOf(metrics, nameof(ReduceLearningRateOnPlateau));
        if (_cooldownCounter > 0)
        {
            _cooldownCounter--;
            Wait = 0;
        }
        if (_monitor.IsImprovement(current, Best))
        {
            Best = current;
            Wait = 0;
            return;
        }
        if (_cooldownCounter > 0)
            return;
        if (++Wait < Patience)
            return;

        Model model = RequireModel();
        Optimizer optimizer = model.Optimizer ?? throw new InvalidOperationException("The model is not compiled.");
        float old = optimizer.LearningRate;
        if (old <= MinLearningRate)
            return; // already at the floor: nothing to reduce (Keras leaves the count running too)
        float reduced = Math.Max(old * Factor, MinLearningRate);
        if (reduced <= 0f)
            return; // only when minLearningRate is 0 and the product underflows
        optimizer.LearningRate = reduced;
        Reductions++;
        _cooldownCounter = Cooldown;
        Wait = 0;
        if (Verbose)
            model.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Epoch {metrics.Epoch}: {nameof(ReduceLearningRateOnPlateau)} reducing learning rate to {reduced:G6}."));
    }
}
