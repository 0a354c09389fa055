using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using static NanoNet.Tests.PersistenceModels;

namespace NanoNet.Tests;

/// <summary>Whole models in one file: architecture + weights, loaded back predicting bit-identically.</summary>
public class ModelFileTests
{
    private readonly List<string> _paths = [];

    private string NewPath()
    {
        string path = TemporaryPath();
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

    [Test]
    public void TheCifarSeedModelLoadsAsASequentialAndPredictsBitIdentically()
    {
        Sequential model = Cifar(seed: 3);
        Tensor images = Random([64, 32, 32, 3], seed: 1, 0, 1);
        model.Fit(new Dataset(images, Tensor.FromArray([.. Enumerable.Range(0, 64).Select(i => (float)(i % 10))], 64)), batchSize: 32, epochs: 1, verbose: 0);
        string path = NewPath();
        model.Save(path);

        Model loaded = Model.Load(path);
        Assert.That(loaded, Is.TypeOf<Sequential>());
        Assert.That(loaded.Layers.Select(l => l.GetConfig().ToString()), Is.EqualTo(model.Layers.Select(l => l.GetConfig().ToString())));
        Assert.That(loaded.Weights.Select(w => w.Name), Is.EqualTo(model.Weights.Select(w => w.Name)));
        Assert.That(BitIdentical(loaded.Predict(images), model.Predict(images)), Is.True);
    }

    [Test]
    public void TheImdbSeedModelPredictsBitIdentically()
    {
        Sequential model = Imdb(vocabulary: 1000, seed: 2);
        Tensor tokens = Tokens(8, 200, 1000, seed: 5);
        string path = NewPath();
        model.Save(path);
        Model loaded = Model.Load(path);
        Assert.That(loaded.Weights.Select(w => w.Name), Is.EqualTo(new[] { "embedding/embeddings", "lstm/kernel", "lstm/recurrent_kernel", "lstm/bias", "dense/kernel", "dense/bias" }));
        Assert.That(BitIdentical(loaded.Predict(tokens), model.Predict(tokens)), Is.True);
    }

    [Test]
    public void UpSamplingAndSpatialDropoutLayersLoadBackAndPredictBitIdentically()
    {
        var model = new Sequential([4, 4, 3], new Conv2D(6, 3, padding: "same", activation: ActivationFunction.Relu), new SpatialDropout2D(0.3f, seed: 5),
            new UpSampling2D((2, 3), "bilinear"), new Conv2D(4, 3), new UpSampling2D(2), new Reshape([-1, 4]), new SpatialDropout1D(0.2f, seed: 6),
            new UpSampling1D(3), new GlobalAveragePooling1D(), new Dense(2));
        model.Compile(new Sgd(0.01f), new MeanSquaredError(), 4);
        Tensor images = Random([5, 4, 4, 3], seed: 2, -1, 1);
        string path = NewPath();
        model.Save(path);
        Model loaded = Model.Load(path);
        Assert.That(loaded.Layers.Select(l => l.GetConfig().ToString()), Is.EqualTo(model.Layers.Select(l => l.GetConfig().ToString())));
        Assert.That(loaded.Layers.OfType<UpSampling2D>().First().Bilinear, Is.True);
        Assert.That(BitIdentical(loaded.Predict(images), model.Predict(images)), Is.True);
    }

    [Test]
    public void AFunctionalModelWithTwoInputsASharedLayerAndMergesPredictsBitIdentically()
    {
        Model model = TwoInputs(seed: 4);
        Tensor left = Random([16, 6], seed: 1), right = Random([16, 6], seed: 2);
        string path = NewPath();
        model.Save(path);

        Model loaded = Model.Load(path);
        Assert.That(loaded, Is.Not.TypeOf<Sequential>());
        Assert.That(loaded.Name, Is.EqualTo("two_inputs"));
        Assert.That(loaded.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "left", "right" }));
        Assert.That(loaded.Layers.Select(l => l.Name), Is.EqualTo(model.Layers.Select(l => l.Name)));
        Tensor[] expected = model.Predict([left, right]), actual = loaded.Predict([left, right]);
        Assert.That(actual, Has.Length.EqualTo(2));
        Assert.That(BitIdentical(actual[0], expected[0]) && BitIdentical(actual[1], expected[1]), Is.True);
    }

    [Test]
    public void ALoadedModelCompilesWithoutLosingItsWeightsAndTrains()
    {
        Model model = TwoInputs(seed: 4);
        string path = NewPath();
        model.Save(path);
        Model loaded = Model.Load(path);
        loaded.Output = TextWriter.Null;
        Tensor left = Random([32, 6], seed: 1), right = Random([32, 6], seed: 2);
        Tensor before = loaded.Predict([left, right])[0];
        loaded.Compile(new Sgd(0.1f), [new SparseCategoricalCrossEntropy(), new MeanSquaredError()], seed: 99);
        Assert.That(BitIdentical(loaded.Predict([left, right])[0], before), Is.True, "compiling re-initialised loaded weights");
        var labels = Tensor.FromArray([.. Enumerable.Range(0, 32).Select(i => (float)(i % 3))], 32);
        TrainingHistory history = loaded.Fit(new Dataset([left, right], [labels, Random([32, 1], seed: 3)]), batchSize: 8, epochs: 2, verbose: 0);
        Assert.That(history.Epochs.All(e => float.IsFinite(e.Loss)), Is.True);
        Assert.That(BitIdentical(loaded.Predict([left, right])[0], before), Is.False);
    }

    /// <summary>A custom layer: y = x · factor, one trainable weight.</summary>
    private sealed class Scale(string? name = null) : Layer(name)
    {
        private Tensor? _factor;

        protected internal override string DefaultName => "scale";

        protected override int[] OnBuild(int[] inputShape)
        {
            _factor = AddWeight("factor", [1], static (w, _) => w.Fill(2f));
            return inputShape;
        }

        protected override Tensor OnForward(Tensor x, bool training) => Ops.Multiply(x, _factor!);

        public override LayerConfig GetConfig() => new LayerConfig("PersistenceTestScale").Set("name", Name);
    }

    [Test]
    public void ACustomLayerLoadsThroughItsRegistration()
    {
        string path = NewPath();
        var model = new Sequential([4], new Dense(3, name: "d"), new Scale("scale")) { Output = TextWriter.Null };
        model.Compile(new Sgd(), new MeanSquaredError());
        model.GetLayer("scale").Weights[0].Span[0] = 3.5f;
        model.Save(path);

        if (!LayerRegistry.IsRegistered("PersistenceTestScale"))
        {
            var e = Assert.Throws<InvalidDataException>(() => Model.Load(path))!;
            Assert.That(e.Message, Does.Contain(path).And.Contain("No layer type 'PersistenceTestScale' is registered"));
            LayerRegistry.Register("PersistenceTestScale", c => new Scale(c.GetString("name")));
        }
        Model loaded = Model.Load(path);
        Tensor x = Random([5, 4], seed: 8);
        Assert.That(loaded.GetLayer("scale").Weights[0].Span[0], Is.EqualTo(3.5f));
        Assert.That(BitIdentical(loaded.Predict(x), model.Predict(x)), Is.True);
    }

    /// <summary>Rewrites a saved model file with its metadata changed by <paramref name="edit"/>.</summary>
    private static void EditMetadata(string path, Action<Dictionary<string, string>> edit)
    {
        SafeTensorsFile file = SafeTensorsReader.Read(path);
        var metadata = new Dictionary<string, string>(file.Metadata);
        edit(metadata);
        SafeTensorsWriter.Write(path, [.. file.Tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, t.ToTensor()))], metadata);
    }

    private static string LoadError(string path)
    {
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path))!;
        Assert.That(e.Message, Does.StartWith(path + ":"));
        return e.Message;
    }

    [Test]
    public void BadModelFilesGiveClearErrors()
    {
        string path = NewPath();
        TwoInputs().Save(path);
        EditMetadata(path, m => m["format_version"] = "2");
        Assert.That(LoadError(path), Does.Contain("format version \"2\" is not supported"));

        TwoInputs().Save(path);
        EditMetadata(path, m => m.Remove("architecture"));
        Assert.That(LoadError(path), Does.Contain("no \"architecture\""));

        TwoInputs().Save(path);
        EditMetadata(path, m => m["architecture"] = m["architecture"].Replace("\"type\":\"Add\"", "\"type\":\"Mystery\""));
        Assert.That(LoadError(path), Does.Contain("No layer type 'Mystery' is registered"));

        TwoInputs().Save(path);
        EditMetadata(path, m => m["architecture"] = m["architecture"].Replace("\"int\":8", "\"int\":2000000000"));
        Assert.That(LoadError(path), Does.Contain("more than the"));

        TwoInputs().Save(path);
        EditMetadata(path, m => m["architecture"] = m["architecture"].Replace("\"kind\"", "\"sort\""));
        Assert.That(LoadError(path), Does.Contain("not a valid architecture document"));

        TwoInputs().SaveWeights(path);
        Assert.That(LoadError(path), Does.Contain("weights file loads with LoadWeights"));
    }

    [Test]
    public void SavingAnUncompiledModelIsRefused() =>
        Assert.Throws<InvalidOperationException>(() => new Sequential([3], new Dense(2)).Save(NewPath()));
}
