using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using static NanoNet.Tests.PersistenceModels;

namespace NanoNet.Tests;

/// <summary>SaveCheckpoint / LoadCheckpoint: contents, in-process exact resume, atomic replacement, bad files.</summary>
public class CheckpointFileTests
{
    private string _path = "";

    [SetUp]
    public void NewPath() => _path = TemporaryPath(".ckpt");

    [TearDown]
    public void DeleteFile()
    {
        File.Delete(_path);
        File.Delete(_path + ".tmp");
    }

    [Test]
    public void TheFileHoldsWeightsOptimizerStateCountersAndRandomStates()
    {
        var run = new CheckpointRun();
        run.Fit(epochs: 2);
        run.Model.SaveCheckpoint(_path, new TrainingState { Epoch = 2, Step = 10, RandomStates = { ["augmentation"] = run.Augmentation.Random.State } });

        SafeTensorsFile file = SafeTensorsReader.Read(_path);
        Assert.That(file.Metadata["format"], Is.EqualTo("nanonet.checkpoint"));
        Assert.That(file.Metadata["format_version"], Is.EqualTo("1"));
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[]
        {
            "model/dense/kernel", "model/dense/bias", "model/dense_1/kernel", "model/dense_1/bias",
            "optimizer/momentum/dense/kernel", "optimizer/momentum/dense/bias", "optimizer/momentum/dense_1/kernel", "optimizer/momentum/dense_1/bias",
        }));
        Assert.That(file.Find("optimizer/momentum/dense/kernel")!.Shape.ToArray(), Is.EqualTo(new[] { 16, 8 }));
        RandomStreamState augmentation = run.Augmentation.Random.State;
        Assert.That(file.Metadata["training"], Is.EqualTo(
            "{\"epoch\":2,\"step\":10,\"optimizer\":{\"type\":\"Momentum\",\"iterations\":10},\"random_states\":" +
            $"[{{\"name\":\"augmentation\",\"seed\":{augmentation.Seed},\"stream\":{augmentation.Stream},\"position\":{augmentation.Position}}}]}}"));
    }

    [Test]
    public void LoadingIntoAFreshRunAndContinuingEqualsTheUninterruptedRun()
    {
        var whole = new CheckpointRun();
        TrainingHistory wholeHistory = whole.Fit(epochs: 5);

        var first = new CheckpointRun();
        first.Fit(epochs: 2);
        first.Model.SaveCheckpoint(_path, new TrainingState { Epoch = 2, RandomStates = { ["augmentation"] = first.Augmentation.Random.State } });

        var second = new CheckpointRun();   // new weights, new optimizer, generator at 0: all replaced from the file
        TrainingState state = second.Model.LoadCheckpoint(_path);
        second.Augmentation.Random.Restore(state.RandomStates["augmentation"]);
        Assert.That(state.Epoch, Is.EqualTo(2));
        Assert.That(state.OptimizerIterations, Is.EqualTo(10));
        Assert.That(second.Model.Optimizer!.Iterations, Is.EqualTo(10));
        TrainingHistory rest = second.Fit(epochs: 5, initialEpoch: state.Epoch);

        Assert.That(rest.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 3, 4, 5 }));
        Assert.That(CheckpointRun.LossBits(rest), Is.EqualTo(CheckpointRun.LossBits(wholeHistory)[2..]));
        Assert.That(second.WeightBits(), Is.EqualTo(whole.WeightBits()));

        // The control: without the augmentation generator's state, the continuation is a different run.
        var forgetful = new CheckpointRun();
        forgetful.Model.LoadCheckpoint(_path);
        forgetful.Fit(epochs: 5, initialEpoch: 2);
        Assert.That(forgetful.WeightBits(), Is.Not.EqualTo(whole.WeightBits()));
    }

    [Test]
    public void ASaveThatFailsHalfwayLeavesThePreviousCheckpointIntact()
    {
        var run = new CheckpointRun();
        run.Fit(epochs: 1);
        run.Model.SaveCheckpoint(_path, new TrainingState { Epoch = 1 });
        byte[] previous = File.ReadAllBytes(_path);

        run.Fit(epochs: 2, initialEpoch: 1);
        Assert.Throws<IOException>(() => CheckpointFiles.Save(run.Model, _path, new TrainingState { Epoch = 2 }, stream => new FailingStream(stream, failAfterBytes: 300)));
        Assert.That(File.ReadAllBytes(_path), Is.EqualTo(previous), "the old checkpoint is untouched");
        Assert.That(File.Exists(_path + ".tmp"), Is.False, "the partial temporary file is removed");
        Assert.That(new CheckpointRun().Model.LoadCheckpoint(_path).Epoch, Is.EqualTo(1));

        run.Model.SaveCheckpoint(_path, new TrainingState { Epoch = 2 });   // a save that completes replaces it
        Assert.That(new CheckpointRun().Model.LoadCheckpoint(_path).Epoch, Is.EqualTo(2));
    }

    [Test]
    public void ATruncatedCheckpointIsRejectedNamingTheFile()
    {
        SaveOne();
        byte[] bytes = File.ReadAllBytes(_path);
        File.WriteAllBytes(_path, bytes[..(bytes.Length - 7)]);
        var e = Assert.Throws<InvalidDataException>(() => new CheckpointRun().Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Does.StartWith(_path + ":"));
    }

    [Test]
    public void AnUnknownFormatVersionIsRejected()
    {
        SaveOne();
        Rewrite(editMetadata: m => m["format_version"] = "9");
        var e = Assert.Throws<InvalidDataException>(() => new CheckpointRun().Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Is.EqualTo($"{_path}: checkpoint format version \"9\" is not supported; this NanoNet reads version 1."));
    }

    [Test]
    public void AWeightsFileIsNotACheckpoint()
    {
        new CheckpointRun().Model.SaveWeights(_path);
        var e = Assert.Throws<InvalidDataException>(() => new CheckpointRun().Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Is.EqualTo($"{_path}: not a NanoNet checkpoint: its __metadata__ \"format\" is \"nanonet.weights\", not \"nanonet.checkpoint\"."));
    }

    [Test]
    public void WeightNamesThatDoNotMatchAreListedAndNothingChanges()
    {
        SaveOne();
        Rewrite(rename: n => n == "model/dense_1/kernel" ? "model/dense_9/kernel" : n);
        var run = new CheckpointRun();
        int[][] before = run.WeightBits();
        var e = Assert.Throws<InvalidDataException>(() => run.Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Does.StartWith(_path + ":").And.Contain("missing 'dense_1/kernel' (8, 3)").And.Contain("unexpected 'model/dense_9/kernel' F32 (8, 3)"));
        Assert.That(run.WeightBits(), Is.EqualTo(before));
    }

    [Test]
    public void OptimizerStateForAnUnknownParameterIsRejectedAndTheWeightsAreKept()
    {
        SaveOne();
        Rewrite(rename: n => n == "optimizer/momentum/dense_1/bias" ? "optimizer/momentum/dense_7/bias" : n);
        var run = new CheckpointRun();
        int[][] before = run.WeightBits();
        var e = Assert.Throws<InvalidDataException>(() => run.Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Does.StartWith(_path + ": the optimizer state does not fit model 'sequential'").And.Contain("dense_7/bias"));
        Assert.That(run.WeightBits(), Is.EqualTo(before));
        Assert.That(run.Model.Optimizer!.Iterations, Is.Zero);
    }

    [Test]
    public void AnotherOptimizerTypeIsRejected()
    {
        SaveOne();
        var run = new CheckpointRun();
        run.Model.Compile(new Adam(), new SparseCategoricalCrossEntropy());
        var e = Assert.Throws<InvalidDataException>(() => run.Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Is.EqualTo($"{_path}: the checkpoint holds the state of a Momentum optimizer, but the model is compiled with Adam."));
    }

    [Test]
    public void AMalformedTrainingDocumentIsRejected()
    {
        SaveOne();
        Rewrite(editMetadata: m => m["training"] = m["training"].Replace("\"epoch\":1", "\"epoch\":-1", StringComparison.Ordinal));
        var e = Assert.Throws<InvalidDataException>(() => new CheckpointRun().Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Does.StartWith(_path + ": the checkpoint's epoch (-1)"));
        SaveOne();
        Rewrite(editMetadata: m => m["training"] = m["training"].Replace("\"step\"", "\"stop\"", StringComparison.Ordinal));
        e = Assert.Throws<InvalidDataException>(() => new CheckpointRun().Model.LoadCheckpoint(_path))!;
        Assert.That(e.Message, Does.StartWith(_path + ": the checkpoint's \"training\" document is not valid"));
    }

    private void SaveOne()
    {
        var run = new CheckpointRun();
        run.Fit(epochs: 1);
        run.Model.SaveCheckpoint(_path, new TrainingState { Epoch = 1 });
    }

    /// <summary>Rewrites the checkpoint with renamed tensors and edited metadata.</summary>
    private void Rewrite(Func<string, string>? rename = null, Action<Dictionary<string, string>>? editMetadata = null)
    {
        SafeTensorsFile file = SafeTensorsReader.Read(_path);
        var metadata = new Dictionary<string, string>(file.Metadata);
        editMetadata?.Invoke(metadata);
        SafeTensorsWriter.Write(_path, [.. file.Tensors.Select(t => new KeyValuePair<string, Tensor>(rename?.Invoke(t.Name) ?? t.Name, t.ToTensor()))], metadata);
    }

    /// <summary>Writes through to the file until a byte budget runs out, then fails like a full disk.</summary>
    private sealed class FailingStream(Stream inner, int failAfterBytes) : Stream
    {
        private int _left = failAfterBytes;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            int now = Math.Min(_left, buffer.Length);
            inner.Write(buffer[..now]);
            _left -= now;
            if (now < buffer.Length)
                throw new IOException("No space left on device (simulated).");
        }
    }
}
