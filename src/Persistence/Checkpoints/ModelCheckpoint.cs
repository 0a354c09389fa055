using System.Globalization;
using NanoNet.Layers;

namespace NanoNet.Persistence;

/// <summary>
/// Keras's <c>ModelCheckpoint</c>: saves a checkpoint (or only the weights) at the end of every
/// <see cref="EveryEpochs"/>-th epoch, or, with <c>saveBestOnly</c>, only when the monitored metric
/// improves on the best seen so far.
/// </summary>
/// <remarks>
/// <para>
/// <c>{epoch}</c> in the path is replaced by the epoch number, so each save gets its own file
/// (<c>"ckpt/epoch-{epoch}.ckpt"</c>); without it every save replaces the same file, atomically. With
/// <c>saveBestOnly</c> and a fixed path, the file always holds the best epoch so far.
/// </para>
/// <para>
/// A full checkpoint (the default) is what <see cref="CheckpointFiles"/> writes: weights, optimizer,
/// epoch, step and the states of the generators in <see cref="RandomStreams"/>. With
/// <c>saveWeightsOnly</c> it is a weights file, loadable with <c>LoadWeights</c>.
/// </para>
/// </remarks>
public sealed class ModelCheckpoint : Callback
{
    private readonly MonitoredMetric? _monitor;
    private long _step;

    /// <summary>Creates the callback.</summary>
    /// <param name="filePath">Where to save; <c>{epoch}</c> is replaced by the epoch number.</param>
    /// <param name="monitor">With <paramref name="saveBestOnly"/>: the metric to watch (<c>loss</c>, <c>accuracy</c>, <c>val_loss</c>, <c>val_accuracy</c>).</param>
    /// <param name="saveBestOnly">Save only when <paramref name="monitor"/> improves on the best so far.</param>
    /// <param name="mode">Whether the metric improves downward or upward; <see cref="MonitorMode.Auto"/> decides from its name.</param>
    /// <param name="everyEpochs">Consider saving only at the end of every this many epochs (epochs N, 2N, ...).</param>
    /// <param name="saveWeightsOnly">Write a weights file instead of a full checkpoint.</param>
    public ModelCheckpoint(string filePath, string monitor = "val_loss", bool saveBestOnly = false, MonitorMode mode = MonitorMode.Auto,
        int everyEpochs = 1, bool saveWeightsOnly = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        ArgumentOutOfRangeException.ThrowIfLessThan(everyEpochs, 1);
        FilePath = filePath;
        EveryEpochs = everyEpochs;
        SaveWeightsOnly = saveWeightsOnly;
        if (saveBestOnly)
        {
            _monitor = new MonitoredMetric(monitor, mode, minDelta: 0f);
            Best = _monitor.Worst;
        }
    }

    /// <summary>The path pattern given to the constructor.</summary>
    public string FilePath { get; }

    /// <summary>Saves happen only at the end of epochs that are multiples of this.</summary>
    public int EveryEpochs { get; }

    /// <summary>Whether a weights file is written instead of a full checkpoint.</summary>
    public bool SaveWeightsOnly { get; }

    /// <summary>With <c>saveBestOnly</c>: the best monitored value so far (kept across <c>Fit</c> calls, as in Keras).</summary>
    public float Best { get; private set; } = float.NaN;

    /// <summary>The files written, in order.</summary>
    public List<string> SavedFiles { get; } = [];

    /// <summary>Generators whose states go into every checkpoint, by name (e.g. <c>["augmentation"] = augmentation.Random</c>).</summary>
    public Dictionary<string, RandomStream> RandomStreams { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public override void OnBatchEnd(BatchMetrics batch) => _step++;

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (metrics.Epoch % EveryEpochs != 0)
            return;
        if (_monitor is not null)
        {
            float value = _monitor.ValueOf(metrics, nameof(ModelCheckpoint));
            if (!_monitor.IsImprovement(value, Best))
                return;
            Best = value;
        }
        Model model = Model ?? throw new InvalidOperationException("ModelCheckpoint: no model attached; Fit sets Callback.Model.");
        string path = FilePath.Replace("{epoch}", metrics.Epoch.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder)
            Directory.CreateDirectory(folder);
        if (SaveWeightsOnly)
            model.SaveWeights(path);
        else
            model.SaveCheckpoint(path, new TrainingState
            {
                Epoch = metrics.Epoch,
                Step = _step,
                RandomStates = RandomStreams.ToDictionary(r => r.Key, r => r.Value.State, StringComparer.Ordinal),
            });
        SavedFiles.Add(path);
    }
}
