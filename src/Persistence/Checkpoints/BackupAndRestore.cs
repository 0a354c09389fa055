using NanoNet.Layers;

namespace NanoNet.Persistence;

/// <summary>
/// Keras's <c>BackupAndRestore</c>: makes an interrupted <c>Fit</c> resumable. At the end of every
/// epoch it saves a checkpoint into <see cref="BackupDirectory"/>; when <c>Fit</c> starts and a backup
/// is there, it restores the weights, the optimizer (state and schedule position), the generators in
/// <see cref="RandomStreams"/> and the epoch counter, and <c>Fit</c> continues with the next epoch; when
/// <c>Fit</c> finishes normally the backup is deleted.
/// </summary>
/// <remarks>
/// <para>
/// Use it by running the same <c>Fit</c> call again after a crash (same data, batch size, seed, epochs,
/// same compiled model and optimizer type): the result is bit-identical to a run that was never
/// interrupted, because epoch e's shuffle depends only on the seed and e, and every other random draw
/// comes from a generator registered here.
/// </para>
/// <para>
/// Resumption is at epoch granularity: the batches of an epoch that was interrupted are trained again
/// from the state at the end of the previous epoch (mid-epoch resume is not implemented). The state of
/// other callbacks (e.g. <c>EarlyStopping</c>'s patience counter) is not saved.
/// </para>
/// </remarks>
public sealed class BackupAndRestore : Callback
{
    /// <summary>The backup's file name inside <see cref="BackupDirectory"/>.</summary>
    public const string FileName = "backup.ckpt";

    private long _step;

    /// <summary>Creates the callback.</summary>
    /// <param name="backupDirectory">Folder of the backup (created when the first backup is saved).</param>
    /// <param name="deleteOnTrainEnd">Delete the backup when <c>Fit</c> finishes normally (Keras's default).</param>
    public BackupAndRestore(string backupDirectory, bool deleteOnTrainEnd = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backupDirectory);
        BackupDirectory = backupDirectory;
        DeleteOnTrainEnd = deleteOnTrainEnd;
    }

    /// <summary>The folder holding the backup.</summary>
    public string BackupDirectory { get; }

    /// <summary>Whether the backup is deleted when <c>Fit</c> finishes normally.</summary>
    public bool DeleteOnTrainEnd { get; }

    /// <summary>The backup file: <see cref="FileName"/> in <see cref="BackupDirectory"/>.</summary>
    public string BackupPath => Path.Combine(BackupDirectory, FileName);

    /// <summary>Generators whose states are backed up and restored, by name (e.g. <c>["augmentation"] = augmentation.Random</c>).</summary>
    public Dictionary<string, RandomStream> RandomStreams { get; } = new(StringComparer.Ordinal);

    /// <summary>The epoch restored from a backup by the last <c>Fit</c> (0 when it started fresh).</summary>
    public int RestoredEpoch { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin()
    {
        Model model = RequireAttached();
        RestoredEpoch = 0;
        _step = 0;
        if (!File.Exists(BackupPath))
            return;
        TrainingState state = model.LoadCheckpoint(BackupPath);
        foreach ((string name, RandomStream random) in RandomStreams)
            random.Restore(state.RandomStates.TryGetValue(name, out RandomStreamState saved) ? saved
                : throw new InvalidDataException($"{BackupPath}: the backup has no state for the random generator '{name}' (it has: {string.Join(", ", state.RandomStates.Keys)})."));
        _step = state.Step;
        RestoredEpoch = state.Epoch;
        model.InitialEpoch = state.Epoch;
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(BatchMetrics batch) => _step++;

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        Directory.CreateDirectory(BackupDirectory);
        RequireAttached().SaveCheckpoint(BackupPath, new TrainingState
        {
            Epoch = metrics.Epoch,
            Step = _step,
            RandomStates = RandomStreams.ToDictionary(r => r.Key, r => r.Value.State, StringComparer.Ordinal),
        });
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingHistory history)
    {
        if (DeleteOnTrainEnd && File.Exists(BackupPath))
            File.Delete(BackupPath);
    }

    private Model RequireAttached() =>
        Model ?? throw new InvalidOperationException("BackupAndRestore: no model attached; Fit sets Callback.Model.");
}
