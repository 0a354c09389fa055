using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Tests;

/// <summary>ModelCheckpoint (when files are written, best-only) and BackupAndRestore (an interrupted Fit resumed exactly).</summary>
public class CheckpointCallbackTests
{
    private string _folder = "";

    [SetUp]
    public void NewFolder() => _folder = Directory.CreateTempSubdirectory("nanonet-ckpt-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void EveryNEpochsWritesOneFilePerMultipleOfN()
    {
        var run = new CheckpointRun();
        var checkpoint = new ModelCheckpoint(Path.Combine(_folder, "epoch-{epoch}.ckpt"), everyEpochs: 2);
        run.Fit(epochs: 5, callbacks: [checkpoint]);
        Assert.That(checkpoint.SavedFiles.Select(Path.GetFileName), Is.EqualTo(new[] { "epoch-2.ckpt", "epoch-4.ckpt" }));
        Assert.That(Directory.GetFiles(_folder).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "epoch-2.ckpt", "epoch-4.ckpt" }));
        Assert.That(new CheckpointRun().Model.LoadCheckpoint(Path.Combine(_folder, "epoch-4.ckpt")).Epoch, Is.EqualTo(4));
    }

    [Test]
    public void BestOnlySavesWhenTheMonitoredMetricImprovesAndKeepsTheBest()
    {
        // Driven by hand with chosen metrics, so which epochs improve is known (Keras semantics: strictly better).
        var run = new CheckpointRun();
        string path = Path.Combine(_folder, "best.ckpt");
        var checkpoint = new ModelCheckpoint(path, monitor: "val_loss", saveBestOnly: true) { Model = run.Model };
        float[] validationLosses = [0.9f, 0.7f, 0.8f, 0.7f, 0.5f, 0.6f];
        var saved = new List<int>();
        for (int epoch = 1; epoch <= validationLosses.Length; epoch++)
        {
            run.Model.Weights[0].Span[0] = epoch;   // marks which epoch's weights are in the file
            int before = checkpoint.SavedFiles.Count;
            checkpoint.OnEpochEnd(new EpochMetrics(epoch, 1f, null, validationLosses[epoch - 1], null, 1, 1));
            if (checkpoint.SavedFiles.Count > before)
                saved.Add(epoch);
        }
        Assert.That(saved, Is.EqualTo(new[] { 1, 2, 5 }));
        Assert.That(checkpoint.Best, Is.EqualTo(0.5f));
        var reader = new CheckpointRun();
        Assert.That(reader.Model.LoadCheckpoint(path).Epoch, Is.EqualTo(5));
        Assert.That(reader.Model.Weights[0].Span[0], Is.EqualTo(5f), "the file holds the best epoch's weights");

        var accuracy = new ModelCheckpoint(Path.Combine(_folder, "acc.weights"), monitor: "accuracy", saveBestOnly: true, saveWeightsOnly: true) { Model = run.Model };
        foreach ((int epoch, float value) in new[] { (1, 0.5f), (2, 0.4f), (3, 0.6f) })
            accuracy.OnEpochEnd(new EpochMetrics(epoch, 1f, value, null, null, 1, 1));
        Assert.That(accuracy.SavedFiles, Has.Count.EqualTo(2), "accuracy improves upward (mode auto)");
        Assert.That(SafeTensorsReader.Read(Path.Combine(_folder, "acc.weights")).Metadata["format"], Is.EqualTo("nanonet.weights"));
    }

    [Test]
    public void BestOnlyInsideFitMonitorsTheRealMetric()
    {
        var run = new CheckpointRun();
        var checkpoint = new ModelCheckpoint(Path.Combine(_folder, "best-{epoch}.ckpt"), monitor: "loss", saveBestOnly: true);
        TrainingHistory history = run.Fit(epochs: 4, callbacks: [checkpoint]);
        var expected = new List<int>();
        float best = float.PositiveInfinity;
        foreach (EpochMetrics epoch in history.Epochs)
            if (epoch.Loss < best)
            {
                best = epoch.Loss;
                expected.Add(epoch.Epoch);
            }
        Assert.That(checkpoint.SavedFiles.Select(Path.GetFileName), Is.EqualTo(expected.Select(e => $"best-{e}.ckpt")));
        Assert.That(checkpoint.Best, Is.EqualTo(best));
    }

    [Test]
    public void AFitInterruptedAtEpochThreeOfFiveResumesToExactlyTheUninterruptedWeights()
    {
        var whole = new CheckpointRun();
        TrainingHistory wholeHistory = whole.Fit(epochs: 5);

        string backupFolder = Path.Combine(_folder, "backup");
        var run = new CheckpointRun();
        var backup = new BackupAndRestore(backupFolder) { RandomStreams = { ["augmentation"] = run.Augmentation.Random } };
        var crash = new CrashInEpoch(3, afterBatches: 2);
        Assert.Throws<SimulatedCrash>(() => run.Fit(epochs: 5, callbacks: [backup, crash]));
        Assert.That(File.Exists(backup.BackupPath), Is.True, "the backup of epoch 2 survives the crash");

        // The same call again (same callback objects, as a restarted program would create anew).
        TrainingHistory resumed = run.Fit(epochs: 5, callbacks: [backup, crash]);
        Assert.That(backup.RestoredEpoch, Is.EqualTo(2));
        Assert.That(resumed.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 3, 4, 5 }));
        Assert.That(CheckpointRun.LossBits(resumed), Is.EqualTo(CheckpointRun.LossBits(wholeHistory)[2..]));
        Assert.That(run.WeightBits(), Is.EqualTo(whole.WeightBits()));
        Assert.That(run.Model.Optimizer!.Iterations, Is.EqualTo(whole.Model.Optimizer!.Iterations));
        Assert.That(File.Exists(backup.BackupPath), Is.False, "a normal finish deletes the backup");
    }

    [Test]
    public void ARestartedProgramWithNewObjectsAlsoResumesExactly()
    {
        var whole = new CheckpointRun();
        whole.Fit(epochs: 5);

        string backupFolder = Path.Combine(_folder, "backup");
        var crashed = new CheckpointRun();
        Assert.Throws<SimulatedCrash>(() => crashed.Fit(epochs: 5,
            callbacks: [new BackupAndRestore(backupFolder) { RandomStreams = { ["augmentation"] = crashed.Augmentation.Random } }, new CrashInEpoch(4, afterBatches: 0)]));

        var restarted = new CheckpointRun();   // fresh weights, optimizer, generator
        restarted.Fit(epochs: 5, callbacks: [new BackupAndRestore(backupFolder) { RandomStreams = { ["augmentation"] = restarted.Augmentation.Random } }]);
        Assert.That(restarted.WeightBits(), Is.EqualTo(whole.WeightBits()));
    }

    private sealed class SimulatedCrash : Exception
    {
        public SimulatedCrash() : base("simulated crash") { }
    }

    /// <summary>Throws once, after <c>afterBatches</c> batches of epoch <c>epoch</c> (0: at the epoch's start).</summary>
    private sealed class CrashInEpoch(int epoch, int afterBatches) : Callback
    {
        private bool _crashed;

        public override void OnEpochBegin(int current)
        {
            if (current == epoch && afterBatches == 0)
                Crash();
        }

        public override void OnBatchEnd(BatchMetrics batch)
        {
            if (batch.Epoch == epoch && batch.Batch == afterBatches)
                Crash();
        }

        private void Crash()
        {
            if (_crashed)
                return;
            _crashed = true;
            throw new SimulatedCrash();
        }
    }
}
