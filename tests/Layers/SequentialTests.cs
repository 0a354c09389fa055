using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

public class SequentialTests
{
    /// <summary>Two Gaussian-ish blobs per class in 4-D: learnable, not trivially separable by one feature.</summary>
    private static Dataset Blobs(int count, int seed)
    {
        var rng = new Random(seed);
        var x = Tensor.Zeros(count, 4);
        var y = Tensor.Zeros(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            y[i] = label;
            for (int f = 0; f < 4; f++)
                x[i, f] = (f == label ? 1.5f : 0f) + (f == 3 && label == 2 ? -1f : 0f) + (rng.NextSingle() - 0.5f);
        }
        return new Dataset(x, y);
    }

    private static Sequential SmallClassifier(float learningRate = 0.5f, int seed = 1)
    {
        var model = new Sequential([4], new Dense(16, ActivationFunction.Relu), new Dense(3, ActivationFunction.Softmax));
        model.Compile(new Sgd(learningRate), new SparseCategoricalCrossEntropy(), seed);
        model.Output = TextWriter.Null;
        return model;
    }

    [Test]
    public void ForwardOutsideTrainingLeavesNoGraphBehind()
    {
        // Parameters require gradients, so a plain Forward records its ops; nothing may keep them alive.
        Sequential model = SmallClassifier();
        var x = Tensor.RandomUniform([8, 4], -1, 1, 5);
        var records = new List<WeakReference>();
        for (int i = 0; i < 50; i++)
            records.Add(ForwardAndDrop(model, x));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(records.Count(r => r.IsAlive), Is.Zero);
    }

    private static WeakReference ForwardAndDrop(Sequential model, Tensor x)
    {
        Tensor y = model.Forward(x);
        Assert.That(y.CreatedBy, Is.Not.Null, "the forward pass is recorded (a custom loop may call Backward)");
        return new WeakReference(y.CreatedBy);
    }

    [Test]
    public void FitLearnsAndReportsHistory()
    {
        Sequential model = SmallClassifier();
        Dataset train = Blobs(300, 1), test = Blobs(150, 2);
        float before = model.Evaluate(test).Loss;
        TrainingHistory history = model.Fit(train, batchSize: 16, epochs: 15, validation: test);
        Assert.That(history.Epochs, Has.Count.EqualTo(15));
        Assert.That(history.Last.Loss, Is.LessThan(history.Epochs[0].Loss));
        Assert.That(history.Last.ValidationAccuracy, Is.GreaterThan(0.9f));
        Assert.That(model.Evaluate(test).Loss, Is.LessThan(before * 0.5f));
        Assert.That(history.Last.SamplesPerSecond, Is.GreaterThan(0));
    }

    [TestCase(1)]
    [TestCase(7)]     // 300 = 42·7 + 6: a partial last batch
    [TestCase(300)]   // batch gradient descent
    public void EveryBatchSizeIsTheSameLoop(int batchSize)
    {
        Sequential model = SmallClassifier(learningRate: batchSize == 1 ? 0.05f : 0.5f);
        Dataset train = Blobs(300, 3);
        float before = model.Evaluate(train).Loss;
        model.Fit(train, batchSize, epochs: batchSize == 300 ? 60 : 3);
        Assert.That(model.Evaluate(train).Loss, Is.LessThan(before * 0.7f));
        Assert.That(model.Optimizer!.Iterations, Is.EqualTo((300 + batchSize - 1) / batchSize * (batchSize == 300 ? 60 : 3)));
    }

    [Test]
    public void LastPartialBatchContributesItsExamples()
    {
        // With batch 7 on 10 examples, an epoch is a batch of 7 and one of 3, and every example is seen once.
        var x = Tensor.Zeros(10, 4);
        var y = Tensor.Zeros(10);
        var loader = new MiniBatchLoader(new Dataset(x, y), 7, shuffle: true, seed: 1);
        int[] sizes = loader.NextEpoch().Select(b => b.Count).ToArray();
        Assert.That(sizes, Is.EqualTo(new[] { 7, 3 }));
    }

    [Test]
    public void SameSeedSameResultAtOneAndTwoThreads()
    {
        float[] RunSteps(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var rng = new Random(4);
                var x = Tensor.RandomUniform([256, 784], 0f, 1f, seed: 5);
                var y = Tensor.Zeros(256);
                for (int i = 0; i < 256; i++) y[i] = rng.Next(10);
                var model = new Sequential([784], new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
                model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy(), seed: 3);
                model.Output = TextWriter.Null;
                model.Fit(x, y, batchSize: 64, epochs: 2, seed: 9);
                return model.Parameters.SelectMany(p => p.ToArray()).ToArray();
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        float[] one = RunSteps(1), two = RunSteps(2);
        Assert.That(two, Is.EqualTo(one).AsCollection, "weights after 8 steps must be bitwise identical");
    }

    [Test]
    public void AddingALayerLeavesTheOtherLayersInitialWeightsUnchanged()
    {
        float[][] InitialWeights(params Layer[] layers)
        {
            var model = new Sequential([6], layers);
            model.Compile(new Sgd(), new MeanSquaredError(), seed: 3);
            return model.Parameters.Select(p => p.ToArray()).ToArray();
        }

        float[][] two = InitialWeights(new Dense(8), new Dense(4));
        float[][] three = InitialWeights(new Dense(8), new Dense(4), new Dense(2));
        Assert.That(three.Take(two.Length), Is.EqualTo(two), "layer i draws from its own stream of the seed");
        Assert.That(InitialWeights(new Dense(8), new Dense(4))[0], Is.EqualTo(two[0]), "same seed, same weights");
        var expected = new float[6 * 8];
        Initializers.GlorotUniform(expected, 6, 8, new RandomStream(3, RandomStreamIds.LayerWeights(0)));
        Assert.That(two[0], Is.EqualTo(expected));
    }

    [Test]
    public void WrongInputShapeNamesTheLayerAndBothShapes()
    {
        var model = new Sequential([784], new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(), new SparseCategoricalCrossEntropy());
        var ex = Assert.Throws<ArgumentException>(() => model.Predict(Tensor.Zeros(64, 28, 28)));
        Assert.That(ex!.Message, Does.Contain("'dense'").And.Contain("(None, 784)").And.Contain("(64, 28, 28)"));

        var layer = (Layer)model.Layers[0];
        var direct = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 5)));
        Assert.That(direct!.Message, Does.Contain("'dense'").And.Contain("(2, 5)"));
    }

    [Test]
    public void BadLabelIsReportedWithItsRow()
    {
        Sequential model = SmallClassifier();
        var x = Tensor.Zeros(2, 4);
        var y = Tensor.FromArray([1, 3], 2);
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(x, y, batchSize: 2, shuffle: false));
        Assert.That(ex!.Message, Does.Contain("row 1: label 3").And.Contain("[0, 3)"), "the data-set row, checked before training (issue 15)");
    }

    [Test]
    public void SummaryCountsParametersLikeKeras()
    {
        var model = new Sequential([28, 28], new Flatten(), new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(), new SparseCategoricalCrossEntropy());
        string summary = model.Summary();
        Assert.That(model.ParameterCount, Is.EqualTo(784 * 128 + 128 + 128 * 10 + 10));
        Assert.That(summary, Does.Contain("flatten (Flatten)").And.Contain("(None, 784)").And.Contain("100,480").And.Contain("1,290").And.Contain("dense_1"));
    }

    [Test]
    public void PredictReturnsProbabilities()
    {
        Sequential model = SmallClassifier();
        Tensor p = model.Predict(Blobs(10, 4).Features, batchSize: 3);
        Assert.That(p.Shape.ToArray(), Is.EqualTo(new[] { 10, 3 }));
        for (int r = 0; r < 10; r++)
            Assert.That(p[r, 0] + p[r, 1] + p[r, 2], Is.EqualTo(1f).Within(1e-5f));
    }

    [Test]
    public void FusedAndUnfusedCrossEntropyAgree()
    {
        // Softmax as its own layer or inside Dense: the loss must be the same number.
        var fused = new Sequential([4], new Dense(3, ActivationFunction.Softmax));
        var separate = new Sequential([4], new Dense(3), new NanoNet.Layers.Activation(ActivationFunction.Softmax));
        fused.Compile(new Sgd(), new SparseCategoricalCrossEntropy(), seed: 2);
        separate.Compile(new Sgd(), new SparseCategoricalCrossEntropy(), seed: 2);
        Dataset data = Blobs(30, 5);
        var probabilitiesModel = new Sequential([4], new Dense(3), new NanoNet.Layers.Activation(ActivationFunction.Softmax), new NanoNet.Layers.Activation(ActivationFunction.Relu));
        probabilitiesModel.Compile(new Sgd(), new SparseCategoricalCrossEntropy(), seed: 2); // last layer not softmax: log path
        Assert.That(separate.Evaluate(data).Loss, Is.EqualTo(fused.Evaluate(data).Loss).Within(1e-6f));
        Assert.That(probabilitiesModel.Evaluate(data).Loss, Is.EqualTo(fused.Evaluate(data).Loss).Within(1e-5f));
    }

    [Test]
    public void MeanSquaredErrorRegressionFits()
    {
        // y = 2·x0 − x1 + 0.5, learned by a linear Dense layer.
        var rng = new Random(6);
        var x = Tensor.Zeros(200, 2);
        var y = Tensor.Zeros(200, 1);
        for (int i = 0; i < 200; i++)
        {
            x[i, 0] = rng.NextSingle(); x[i, 1] = rng.NextSingle();
            y[i, 0] = 2 * x[i, 0] - x[i, 1] + 0.5f;
        }
        var model = new Sequential([2], new Dense(1));
        model.Compile(new Sgd(0.2f), new MeanSquaredError());
        model.Output = TextWriter.Null;
        model.Fit(x, y, batchSize: 10, epochs: 100);
        var dense = (Dense)model.Layers[0];
        Assert.That(dense.Kernel[0], Is.EqualTo(2f).Within(0.02f));
        Assert.That(dense.Kernel[1], Is.EqualTo(-1f).Within(0.02f));
        Assert.That(dense.Bias[0], Is.EqualTo(0.5f).Within(0.02f));
    }

    [Test]
    public void EpochLineLooksLikeKeras()
    {
        Sequential model = SmallClassifier();
        var output = new StringWriter();
        model.Output = output;
        model.Fit(Blobs(64, 7), batchSize: 16, epochs: 1, validation: Blobs(32, 8));
        string text = output.ToString();
        Assert.That(text, Does.Contain("Epoch 1/1").And.Contain("4/4").And.Contain("loss: ").And.Contain("val_accuracy: ").And.Contain("samples/s"));
    }
}
