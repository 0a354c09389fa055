using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using static NanoNet.Tests.PersistenceModels;

namespace NanoNet.Tests;

/// <summary>
/// A lazy optimizer (<see cref="Optimizer.Lazy"/>) in a checkpoint: the flag is saved with the optimizer's type, a
/// resumed run continues bit for bit, and a checkpoint of a lazy optimizer does not load into a dense one (or back).
/// </summary>
public class LazyOptimizerCheckpointTests
{
    private string _path = "";

    [SetUp]
    public void NewPath() => _path = TemporaryPath(".ckpt");

    [TearDown]
    public void DeleteFile() => File.Delete(_path);

    /// <summary>Embedding(40, 4) → Flatten → Dense(2): ids below 20 only, so half the table is never touched.</summary>
    private static Sequential Model(Optimizer optimizer, int seed = 0)
    {
        var model = new Sequential([6], new Embedding(40, 4), new Flatten(), new Dense(2, ActivationFunction.Softmax)) { Output = TextWriter.Null };
        model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed);
        return model;
    }

    private static Dataset Batch(int step)
    {
        var rng = new Random(100 + step);
        var ids = Tensor.Zeros(8, 6);
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(20);
        var labels = Tensor.Zeros(8);
        for (int i = 0; i < 8; i++) labels[i] = (i + step) % 2;
        return new Dataset(ids, labels);
    }

    private static void Train(Model model, int from, int to)
    {
        for (int step = from; step < to; step++)
            model.TrainStep(Batch(step));
    }

    private static int[] Bits(Model model) => [.. model.Weights.SelectMany(w => w.ToArray()).Select(BitConverter.SingleToInt32Bits)];

    [Test]
    public void ALazyAdamRunResumesBitForBit()
    {
        Sequential whole = Model(new Adam(0.05f, lazy: true));
        Train(whole, 0, 6);

        Sequential first = Model(new Adam(0.05f, lazy: true));
        Train(first, 0, 3);
        first.SaveCheckpoint(_path, new TrainingState { Epoch = 0, Step = 3 });
        Assert.That(SafeTensorsReader.Read(_path).Metadata["training"], Does.Contain("\"optimizer\":{\"type\":\"Adam\",\"iterations\":3,\"lazy\":true}"));

        Sequential second = Model(new Adam(0.05f, lazy: true), seed: 7);   // other weights: all replaced from the file
        second.LoadCheckpoint(_path);
        Train(second, 3, 6);
        Assert.That(Bits(second), Is.EqualTo(Bits(whole)));

        // The control: the dense optimizer moves the untouched rows (20..39) of the table, so it is another run.
        Sequential dense = Model(new Adam(0.05f));
        Train(dense, 0, 6);
        Assert.That(Bits(dense), Is.Not.EqualTo(Bits(whole)));
    }

    [Test]
    public void LazyAndDenseCheckpointsDoNotLoadIntoEachOther()
    {
        Sequential lazy = Model(new Adam(0.05f, lazy: true));
        Train(lazy, 0, 1);
        lazy.SaveCheckpoint(_path, new TrainingState());
        var e = Assert.Throws<InvalidDataException>(() => Model(new Adam(0.05f)).LoadCheckpoint(_path))!;
        Assert.That(e.Message, Does.StartWith($"{_path}: the checkpoint holds the state of a lazy Adam, but the model is compiled with a dense one"));

        Sequential dense = Model(new Adam(0.05f));
        Train(dense, 0, 1);
        dense.SaveCheckpoint(_path, new TrainingState());
        Assert.That(SafeTensorsReader.Read(_path).Metadata["training"], Does.Not.Contain("lazy"), "a dense checkpoint is written as before");
        e = Assert.Throws<InvalidDataException>(() => Model(new Adam(0.05f, lazy: true)).LoadCheckpoint(_path))!;
        Assert.That(e.Message, Does.StartWith($"{_path}: the checkpoint holds the state of a dense (not lazy) Adam, but the model is compiled with a lazy one"));
    }
}
