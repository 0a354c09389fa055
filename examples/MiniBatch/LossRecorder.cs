using System.Diagnostics;
using NanoNet.Layers;

namespace NanoNet.Examples.MiniBatch;

/// <summary>
/// A training-loss point: the mean batch loss over a window of consecutive steps.
/// </summary>
/// <param name="Step">The window's last step (1-based).</param>
/// <param name="Examples">
/// The middle of the examples the window's batches covered. Each batch's loss comes from the forward pass
/// before that batch's update, so batch gradient descent's first point, the untrained model's loss, sits at
/// 30,000 (the middle of its first 60,000-example step).
/// </param>
/// <param name="Seconds">The middle of the window's training wall time (validation time excluded).</param>
/// <param name="Steps">Steps in the window.</param>
/// <param name="MeanLoss">Size-weighted mean of the window's batch losses.</param>
/// <param name="LastStepLoss">The loss of the window's last batch alone: one raw sample, to show the per-step noise.</param>
internal readonly record struct LossPoint(long Step, double Examples, double Seconds, int Steps, float MeanLoss, float LastStepLoss);

/// <summary>What one epoch ended with (epoch 0: the untrained model).</summary>
/// <param name="Epoch">1-based epoch; 0 for the model before training.</param>
/// <param name="Examples">Examples seen by the end of the epoch.</param>
/// <param name="Seconds">Training wall time by the end of the epoch.</param>
/// <param name="TrainLoss">Mean training loss of the epoch (null for epoch 0).</param>
/// <param name="ValidationLoss">Loss on the validation data.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation data.</param>
internal readonly record struct EpochPoint(int Epoch, long Examples, double Seconds, float? TrainLoss, float? ValidationLoss, float? ValidationAccuracy);

/// <summary>
/// Records the training loss against examples seen and wall time through <see cref="Callback.OnBatchEnd"/>,
/// averaged over windows of at least <paramref name="windowExamples"/> examples so that a batch-1 run of
/// 180,000 steps still gives a small CSV; and the validation metrics at each epoch end.
/// </summary>
/// <remarks>
/// Wall time counts training only: the clock restarts at each epoch's start and adds the epoch's measured
/// training time at its end, so the validation pass between epochs is not counted.
/// </remarks>
internal sealed class LossRecorder(int windowExamples) : Callback
{
    private readonly Stopwatch _epochClock = new();
    private readonly List<LossPoint> _points = [];
    private readonly List<EpochPoint> _epochs = [];
    private long _seen;                 // examples seen before the current step
    private double _completedSeconds;   // training time of the finished epochs
    private double _timeBefore;         // training time when the current step began (after a step: when it ended)
    private double _windowLoss;
    private long _windowExamples, _windowFirstSeen;
    private double _windowFirstTime;
    private int _windowSteps;
    private long _lastStep;
    private float _lastLoss;

    /// <summary>The loss points so far.</summary>
    public IReadOnlyList<LossPoint> Points => _points;

    /// <summary>One entry per finished epoch.</summary>
    public IReadOnlyList<EpochPoint> Epochs => _epochs;

    /// <summary>Examples seen so far.</summary>
    public long ExamplesSeen => _seen;

    /// <summary>Steps taken so far.</summary>
    public long Steps => _lastStep;

    /// <summary>Training wall time so far (after the last completed step).</summary>
    public double TrainingSeconds => _timeBefore;

    /// <summary>Validation metrics of the untrained model, recorded as epoch 0 by the next <see cref="OnTrainBegin"/>.</summary>
    public Evaluation? Initial { get; set; }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        _points.Clear();
        _epochs.Clear();
        if (Initial is { } initial)
            _epochs.Add(new EpochPoint(0, 0, 0, null, initial.Loss, initial.Accuracy));
        _seen = 0;
        _completedSeconds = _timeBefore = 0;
        _lastStep = 0;
        ResetWindow();
    }

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch) => _epochClock.Restart();

    /// <inheritdoc/>
    public override void OnBatchEnd(BatchMetrics batch)
    {
        double now = _completedSeconds + _epochClock.Elapsed.TotalSeconds;
        if (_windowSteps == 0)
        {
            _windowFirstSeen = _seen;
            _windowFirstTime = _timeBefore;
        }
        _windowLoss += (double)batch.Loss * batch.Size;
        _windowExamples += batch.Size;
        _windowSteps++;
        _lastStep = batch.Step;
        _lastLoss = batch.Loss;
        _seen += batch.Size;
        _timeBefore = now;
        if (_windowExamples >= windowExamples)
            Flush();
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics)
    {
        _completedSeconds += metrics.Seconds;
        _timeBefore = _completedSeconds;
        _epochs.Add(new EpochPoint(metrics.Epoch, _seen, _completedSeconds, metrics.Loss, metrics.ValidationLoss, metrics.ValidationAccuracy));
    }

    /// <summary>Emits the last window if it holds at least half a window of examples (a shorter one is too noisy to plot).</summary>
    public override void OnTrainEnd(TrainingHistory history)
    {
        if (_windowExamples * 2 >= windowExamples)
            Flush();
        else
            ResetWindow();
    }

    /// <summary>Emits the partly filled window, if any (also called when a run diverges and Fit throws).</summary>
    public void Flush()
    {
        if (_windowSteps == 0)
            return;
        _points.Add(new LossPoint(_lastStep, (_windowFirstSeen + _seen) / 2.0, (_windowFirstTime + _timeBefore) / 2,
            _windowSteps, (float)(_windowLoss / _windowExamples), _lastLoss));
        ResetWindow();
    }

    private void ResetWindow()
    {
        _windowLoss = 0;
        _windowExamples = 0;
        _windowSteps = 0;
    }
}
