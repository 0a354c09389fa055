using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using static NanoNet.Tests.PersistenceModels;

namespace NanoNet.Tests;

/// <summary>
/// Non-trainable weights (BatchNormalization's moving statistics) in every file: weights files, model
/// files and checkpoints hold them; checkpoints hold no optimizer state for them; exact resume keeps them.
/// </summary>
public class NonTrainableWeightTests
{
    private readonly List<string> _paths = [];

    private string NewPath(string extension = ".safetensors")
    {
        string path = TemporaryPath(extension);
        _paths.Add(path);
        return path;
    }

    [TearDown]
    public void DeleteFiles()
    {
        foreach (string path in _paths)
            File.Delete(path);
        _paths.Clear();
    }

    private static Sequential Model(int seed = 1)
    {
        var model = new Sequential([6, 6, 2],
            new Conv2D(4, 3, padding: "same", name: "conv"), new BatchNormalization(momentum: 0.8f, name: "bn"), new Activation(ActivationFunction.Relu, name: "relu"),
            new GlobalAveragePooling2D(name: "pool"), new LayerNormalization(name: "ln"), new Dense(3, ActivationFunction.Softmax, name: "out")) { Output = TextWriter.Null };
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed);
        return model;
    }

    private static Dataset Data() =>
        new(Random([64, 6, 6, 2], seed: 5, 1f, 3f), Tensor.FromArray([.. Enumerable.Range(0, 64).Select(i => (float)(i % 3))], 64));

    [Test]
    public void WeightsFilesHoldTheMovingStatisticsAndLoadThemBack()
    {
        Sequential trained = Model();
        trained.Fit(Data(), batchSize: 16, epochs: 2, verbose: 0);
        var bn = (BatchNormalization)trained.GetLayer("bn");
        Assert.That(bn.MovingMean.ToArray().Any(v => v != 0f), "training moved the statistics");
        string path = NewPath();
        trained.SaveWeights(path);
        Assert.That(SafeTensorsReader.Read(path).Tensors.Select(t => t.Name), Is.SupersetOf(new[] { "bn/moving_mean", "bn/moving_variance", "ln/gamma", "ln/beta" }));

        Sequential fresh = Model(seed: 9);
        fresh.LoadWeights(path);
        var loaded = (BatchNormalization)fresh.GetLayer("bn");
        Assert.That(loaded.MovingMean.ToArray(), Is.EqualTo(bn.MovingMean.ToArray()));
        Assert.That(loaded.MovingVariance.ToArray(), Is.EqualTo(bn.MovingVariance.ToArray()));
        Tensor x = Data().Features;
        Assert.That(BitIdentical(fresh.Predict(x), trained.Predict(x)), Is.True);
    }

    [Test]
    public void AModelFileRebuildsTheNormalisationLayersAndPredictsBitIdentically()
    {
        Sequential trained = Model();
        trained.Fit(Data(), batchSize: 16, epochs: 1, verbose: 0);
        string path = NewPath();
        trained.Save(path);
        Model loaded = NanoNet.Layers.Model.Load(path);
        Assert.That(loaded.Layers.Select(l => l.GetConfig().ToString()), Is.EqualTo(trained.Layers.Select(l => l.GetConfig().ToString())));
        Assert.That(loaded.NonTrainableParameterCount, Is.EqualTo(8));
        Tensor x = Data().Features;
        Assert.That(BitIdentical(loaded.Predict(x), trained.Predict(x)), Is.True);
    }

    [Test]
    public void ACheckpointResumesExactlyAndHoldsNoOptimizerStateForTheMovingStatistics()
    {
        Sequential whole = Model();
        whole.Fit(Data(), batchSize: 16, epochs: 3, seed: 2, verbose: 0);

        Sequential first = Model();
        first.Fit(Data(), batchSize: 16, epochs: 1, seed: 2, verbose: 0);
        string path = NewPath(".ckpt");
        first.SaveCheckpoint(path, new TrainingState { Epoch = 1 });
        string[] names = [.. SafeTensorsReader.Read(path).Tensors.Select(t => t.Name)];
        Assert.That(names, Does.Contain("model/bn/moving_mean").And.Contain("model/bn/moving_variance"));
        Assert.That(names.Where(n => n.StartsWith("optimizer/", StringComparison.Ordinal)), Has.None.Contains("moving"));
        Assert.That(names.Where(n => n.StartsWith("optimizer/", StringComparison.Ordinal)), Has.Some.Contains("bn/gamma"));

        Sequential resumed = Model(seed: 7);
        TrainingState state = resumed.LoadCheckpoint(path);
        resumed.Fit(Data(), batchSize: 16, epochs: 3, seed: 2, verbose: 0, initialEpoch: state.Epoch);
        for (int i = 0; i < whole.Weights.Count; i++)
            Assert.That(BitIdentical(resumed.Weights[i], whole.Weights[i]), Is.True, whole.Weights[i].Name);
    }

    [Test]
    public void AFileWithoutTheMovingStatisticsIsRefusedByName()
    {
        Sequential model = Model();
        string path = NewPath();
        SafeTensorsWriter.Write(path, [.. model.Weights.Where(w => !w.Name!.Contains("moving", StringComparison.Ordinal)).Select(w => new KeyValuePair<string, Tensor>(w.Name!, w))],
            new Dictionary<string, string> { ["format"] = WeightFiles.Format });
        var e = Assert.Throws<InvalidDataException>(() => Model(seed: 3).LoadWeights(path))!;
        Assert.That(e.Message, Does.Contain("missing 'bn/moving_mean' (4)").And.Contain("missing 'bn/moving_variance' (4)"));
    }
}
