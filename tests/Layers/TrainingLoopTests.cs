using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>What a .NET app needs from Fit: cancellation, progress, accumulation, streaming, frozen layers.</summary>
public class TrainingLoopTests
{
    private static Dataset Blobs(int count, int seed)
    {
        var rng = new RandomStream((ulong)seed);
        var x = Tensor.Zeros(count, 4);
        var y = Tensor.Zeros(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            y[i] = label;
            for (int f = 0; f < 4; f++)
                x[i, f] = (f == label ? 1.5f : 0f) + (rng.NextFloat() - 0.5f);
        }
        return new Dataset(x, y);
    }

    private static Sequential Classifier(Optimizer? optimizer = null)
    {
        var model = new Sequential([4], new Dense(8, ActivationFunction.Relu), new Dense(3, ActivationFunction.Softmax)) { Output = TextWriter.Null };
        model.Compile(optimizer ?? new Sgd(0.2f), new SparseCategoricalCrossEntropy(), seed: 5);
        return model;
    }

    private static float[] WeightsOf(Model model) => [.. model.Weights.SelectMany(w => w.ToArray())];

    [Test]
    public void CancellationStopsAtABatchBoundaryWithTheModelConsistent()
    {
        Dataset data = Blobs(64, 1);
        using var cancel = new CancellationTokenSource();
        Sequential model = Classifier();
        var stopAfterThird = new LambdaCallback(onBatchEnd: b => { if (b.Step == 3) cancel.Cancel(); });
        Assert.Throws<OperationCanceledException>(() =>
            model.Fit(data, batchSize: 8, epochs: 5, shuffle: false, verbose: 0, callbacks: [stopAfterThird], cancellationToken: cancel.Token));

        // Exactly three complete updates: the same as three hand-run steps on the first three batches.
        Sequential reference = Classifier();
        for (int b = 0; b < 3; b++)
            reference.TrainStep(data.Slice(8 * b, 8));
        Assert.That(WeightsOf(model), Is.EqualTo(WeightsOf(reference)));
        Assert.That(model.Parameters.All(p => p.Grad is null || p.Grad.ToArray().All(g => g == 0)), "no half-applied gradient is left");
        Assert.That(model.Predict(data.Features).ToArray().All(float.IsFinite));
    }

    [Test]
    public void CancellationDuringAccumulationDiscardsThePartialGroup()
    {
        Dataset data = Blobs(64, 2);
        using var cancel = new CancellationTokenSource();
        Sequential model = Classifier();
        float[] before = WeightsOf(model);
        var stopAfterThird = new LambdaCallback(onBatchEnd: b => { if (b.Step == 3) cancel.Cancel(); });
        Assert.Throws<OperationCanceledException>(() => model.Fit(data, batchSize: 8, epochs: 1, shuffle: false, verbose: 0,
            callbacks: [stopAfterThird], gradientAccumulationSteps: 4, cancellationToken: cancel.Token));
        Assert.That(WeightsOf(model), Is.EqualTo(before), "three of four accumulated batches: no update happened");
    }

    [Test]
    public void ProgressIsReportedAfterEveryBatch()
    {
        var reports = new List<TrainingProgress>();
        Classifier().Fit(Blobs(40, 3), batchSize: 16, epochs: 2, verbose: 0, progress: new ImmediateProgress<TrainingProgress>(reports.Add));
        Assert.That(reports, Has.Count.EqualTo(6)); // 16 + 16 + 8 per epoch
        Assert.That(reports.Select(r => r.Step), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(reports.Select(r => (r.Epoch, r.Batch)), Is.EqualTo(new[] { (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3) }));
        Assert.That(reports.All(r => r.BatchesPerEpoch == 3 && r.Epochs == 2 && float.IsFinite(r.Loss)));
    }

    [Test]
    public void AccumulatingTwoHalfBatchesIsOneStepOnTheWholeBatch()
    {
        Dataset data = Blobs(32, 4);
        Sequential accumulated = Classifier(), whole = Classifier();
        accumulated.Fit(data, batchSize: 8, epochs: 1, shuffle: false, verbose: 0, gradientAccumulationSteps: 2);
        whole.Fit(data, batchSize: 16, epochs: 1, shuffle: false, verbose: 0);
        float[] a = WeightsOf(accumulated), b = WeightsOf(whole);
        for (int i = 0; i < a.Length; i++)
            Assert.That(a[i], Is.EqualTo(b[i]).Within(1e-5f), $"weight {i}");
        Assert.That(a, Is.Not.EqualTo(WeightsOf(Classifier())), "training happened");
    }

    [Test]
    public void StreamedBatchesTrainLikeTheSameBatchesInMemory()
    {
        Dataset data = Blobs(48, 5);
        IEnumerable<Dataset> Stream()
        {
            for (int start = 0; start < data.Count; start += 16)
                yield return data.Slice(start, 16); // e.g. read from disk one chunk at a time
        }
        async IAsyncEnumerable<Dataset> StreamAsync()
        {
            foreach (Dataset batch in Stream())
            {
                await Task.Yield();
                yield return batch;
            }
        }
        Sequential inMemory = Classifier(), streamed = Classifier(), streamedAsync = Classifier();
        inMemory.Fit(data, batchSize: 16, epochs: 3, shuffle: false, verbose: 0);
        TrainingHistory history = streamed.Fit(Stream(), epochs: 3, verbose: 0);
        streamedAsync.FitAsync(StreamAsync(), epochs: 3, verbose: 0).GetAwaiter().GetResult();
        Assert.That(WeightsOf(streamed), Is.EqualTo(WeightsOf(inMemory)));
        Assert.That(WeightsOf(streamedAsync), Is.EqualTo(WeightsOf(inMemory)));
        Assert.That(history.Epochs, Has.Count.EqualTo(3));
    }

    [Test]
    public void AFrozenLayerKeepsItsWeightsAndShowsAsNonTrainable()
    {
        Sequential model = Classifier();
        Layer first = model.Layers[0];
        float[] frozenBefore = [.. first.Weights.SelectMany(w => w.ToArray())];
        float[] headBefore = [.. model.Layers[1].Weights.SelectMany(w => w.ToArray())];
        first.Trainable = false;
        Assert.That(model.Parameters, Has.Count.EqualTo(2));
        Assert.That(model.NonTrainableParameterCount, Is.EqualTo(4 * 8 + 8));
        Assert.That(model.Summary(), Does.Contain("Non-trainable params: 40").And.Contain("Trainable params: 27"));

        model.Fit(Blobs(64, 6), batchSize: 8, epochs: 2, verbose: 0);
        Assert.That(first.Weights.SelectMany(w => w.ToArray()), Is.EqualTo(frozenBefore));
        Assert.That(model.Layers[1].Weights.SelectMany(w => w.ToArray()), Is.Not.EqualTo(headBefore), "the head still trains");
        Assert.That(first.Weights.All(w => w.Grad is null), "a frozen layer's gradients are not even computed");

        first.Trainable = true; // fine-tune everything again
        Assert.That(model.Parameters, Has.Count.EqualTo(4));
    }

    [Test]
    public void CallbacksAreTypedOnTheModelBase()
    {
        var input = new Input([4]);
        var model = new Model(input, new Dense(3, ActivationFunction.Softmax).Call(input)) { Output = TextWriter.Null };
        model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy());
        Model? seen = null;
        var callback = new LambdaCallback(onTrainBegin: () => { });
        model.Fit(Blobs(16, 7), batchSize: 8, epochs: 1, verbose: 0, callbacks: [callback]);
        seen = callback.Model;
        Assert.That(seen, Is.SameAs(model));
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; this one reports synchronously, in order.</summary>
    private sealed class ImmediateProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>Custom layers by subclassing, and the registry that rebuilds layers from their configs.</summary>
public class CustomLayerTests
{
    /// <summary>A learned per-feature scale y = x ⊙ s (s starts at one), with noise on the input while training.</summary>
    private sealed class Scale(float trainingNoise = 0f, string? name = null) : Layer(name)
    {
        private Tensor? _scale;

        public float TrainingNoise { get; } = trainingNoise;

        public Tensor Factors => _scale ?? throw new InvalidOperationException("not built");

        protected internal override string DefaultName => "scale";

        public override bool SupportsMasking => true;

        protected override int[] OnBuild(int[] inputShape)
        {
            _scale = AddWeight("factors", [inputShape[^1]], static (w, _) => w.Fill(1f));
            return inputShape;
        }

        protected override Tensor OnForward(Tensor x, bool training)
        {
            if (training && TrainingNoise > 0)
                x = Ops.Add(x, Ops.Multiply(Tensor.RandomNormal(x.Shape.ToArray(), seed: 1), TrainingNoise));
            return Ops.Multiply(x, Factors); // broadcasts over the rows
        }

        public override LayerConfig GetConfig() => base.GetConfig().Set("training_noise", TrainingNoise);
    }

    [Test]
    public void ACustomLayerIsBuiltOnFirstCallNamesItsWeightsAndTrains()
    {
        var input = new Input([3]);
        var scale = new Scale(name: "gain");
        Assert.That(scale.IsBuilt, Is.False);
        SymbolicTensor y = scale.Call(input);
        Assert.That(scale.IsBuilt && scale.Weights.Single().Name == "gain/factors");
        var model = new Model(input, y) { Output = TextWriter.Null };
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        Assert.That(scale.Factors.ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f }));

        var x = Tensor.RandomUniform([64, 3], 0.5f, 1.5f, 2);
        var target = Tensor.Zeros(64, 3);
        for (int i = 0; i < 64; i++)
            for (int f = 0; f < 3; f++)
                target[i, f] = x[i, f] * (f + 2); // the scale to learn: (2, 3, 4)
        model.Fit(new Dataset(x, target), batchSize: 16, epochs: 60, verbose: 0);
        Assert.That(scale.Factors.ToArray(), Is.EqualTo(new[] { 2f, 3f, 4f }).Within(0.05f));
    }

    [Test]
    public void TheTrainingFlagReachesTheLayer()
    {
        var input = new Input([2]);
        var model = new Model(input, new Scale(trainingNoise: 10f).Call(input));
        model.Compile(new Sgd(), new MeanSquaredError());
        var x = Tensor.Ones(1, 2);
        Assert.That(model.Forward(x, training: false).ToArray(), Is.EqualTo(new[] { 1f, 1f }));
        Assert.That(model.Forward(x, training: true).ToArray(), Is.Not.EqualTo(new[] { 1f, 1f }));
    }

    [Test]
    public void EveryBuiltInLayerRoundTripsThroughItsConfig()
    {
        Layer[] layers =
        [
            new Dense(7, ActivationFunction.Tanh, "d"), new Conv2D(4, 3, 2, "same", ActivationFunction.Relu, "c"),
            new MaxPool2D(3, 2, "same", "m"), new Flatten("f"), new Activation(ActivationFunction.Sigmoid, "a"),
            new Embedding(100, 8, maskZero: true, name: "e"), new Lstm(5, returnSequences: true, name: "l"),
            new Add("add"), new Subtract("sub"), new Multiply("mul"), new Concatenate(2, "cat"),
        ];
        foreach (Layer layer in layers)
        {
            LayerConfig config = layer.GetConfig();
            Layer copy = LayerRegistry.Create(config);
            Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
            Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        }
    }

    [Test]
    public void ACustomLayerRegistersAndAnUnknownTypeIsNamed()
    {
        if (!LayerRegistry.IsRegistered("Scale"))
            LayerRegistry.Register("Scale", c => new Scale(c.GetFloat("training_noise"), c.GetString("name")));
        Layer copy = LayerRegistry.Create(new Scale(0.5f, "s").GetConfig());
        Assert.That(copy, Is.TypeOf<Scale>());
        Assert.That(((Scale)copy).TrainingNoise, Is.EqualTo(0.5f));
        var ex = Assert.Throws<ArgumentException>(() => LayerRegistry.Create(new LayerConfig("Nope")));
        Assert.That(ex!.Message, Does.Contain("Nope").And.Contain("Dense"));
        Assert.Throws<ArgumentException>(() => LayerRegistry.Register("Dense", _ => new Flatten()));
    }
}
