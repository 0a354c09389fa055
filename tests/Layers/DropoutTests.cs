using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

public class DropoutTests
{
    private static Dropout Built(float rate, int[] shape, int seed = 7)
    {
        var layer = new Dropout(rate, seed);
        layer.Build(shape);
        return layer;
    }

    [Test]
    public void InferenceReturnsTheInputItself()
    {
        Dropout layer = Built(0.5f, [10]);
        var x = Tensor.RandomUniform([4, 10], -1f, 1f, 1);
        RandomStreamState before = layer.RandomState;
        Assert.That(layer.Forward(x), Is.SameAs(x));
        Assert.That(layer.Forward(x, training: false), Is.SameAs(x));
        Assert.That(layer.RandomState, Is.EqualTo(before), "inference draws nothing");
    }

    [TestCase(0.1f)]
    [TestCase(0.5f)]
    [TestCase(0.8f)]
    public void TrainingKeepsAboutOneMinusRateAndScalesTheKeptOnesExactly(float rate)
    {
        const int n = 200_000;
        Dropout layer = Built(rate, [1000]);
        var x = Tensor.RandomUniform([n / 1000, 1000], 0.5f, 2f, 2); // never zero, so a zero output means dropped
        Tensor y = layer.Forward(x, training: true);
        float scale = 1f / (1f - rate);
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            if (y[i] == 0f)
                continue;
            kept++;
            Assert.That(y[i], Is.EqualTo(x[i] * scale), $"element {i}: kept values are x·1/(1 − rate), rounded once");
        }
        // Binomial(n, 1 − rate): allow six standard deviations.
        double expected = n * (1.0 - rate), sigma = Math.Sqrt(n * rate * (1.0 - rate));
        Assert.That(kept, Is.InRange(expected - 6 * sigma, expected + 6 * sigma));
        Assert.That(layer.RandomState.Position, Is.EqualTo((ulong)(n + 1) / 2), "a training call advances the stream by half the batch's element count (16 bits each)");
    }

    [Test]
    public void SuccessiveBatchesDrawDifferentMasksAndARunIsReproducible()
    {
        var x = Tensor.Ones(8, 64);
        Dropout a = Built(0.5f, [64], seed: 11), b = Built(0.5f, [64], seed: 11);
        float[] a1 = a.Forward(x, true).Span.ToArray(), a2 = a.Forward(x, true).Span.ToArray();
        Assert.That(a2, Is.Not.EqualTo(a1));
        Assert.That(b.Forward(x, true).Span.ToArray(), Is.EqualTo(a1));
        Assert.That(b.Forward(x, true).Span.ToArray(), Is.EqualTo(a2));
        Dropout other = Built(0.5f, [64], seed: 12);
        Assert.That(other.Forward(x, true).Span.ToArray(), Is.Not.EqualTo(a1), "another seed, another mask");
    }

    [Test]
    public void RestoringTheStateDrawsTheSameMaskAgain()
    {
        Dropout layer = Built(0.3f, [50]);
        var x = Tensor.Ones(4, 50);
        layer.Forward(x, true);
        RandomStreamState saved = layer.RandomState;
        float[] first = layer.Forward(x, true).Span.ToArray();
        layer.RandomState = saved;
        Assert.That(layer.Forward(x, true).Span.ToArray(), Is.EqualTo(first));
    }

    [Test]
    public void GradientMatchesCentralDifferencesWithAFixedMask()
    {
        var random = new RandomStream(5, RandomStreamIds.Dropout);
        RandomStreamState start = random.State;
        var x = Tensor.RandomUniform([3, 7], -1f, 1f, 3);
        GradientCheck.Check(inputs =>
        {
            random.Restore(start); // every evaluation draws the same mask
            return Ops.Dropout(inputs[0], 0.4f, random);
        }, [x]);
        // and the mask really drops something
        random.Restore(start);
        Tensor y = Ops.Dropout(x, 0.4f, random);
        Assert.That(Enumerable.Range(0, y.Length).Count(i => y[i] == 0f), Is.GreaterThan(0));
    }

    [Test]
    public void BitIdenticalAtOneAndTwoThreads()
    {
        // Large enough that the mask's fill is split across the workers.
        var x = Tensor.RandomUniform([64, 4096], -1f, 1f, 4);
        float[] Run(int threads)
        {
            using (Parallelism.LimitThreads(threads))
            {
                Dropout layer = Built(0.25f, [4096], seed: 9);
                layer.Forward(x, true);
                return layer.Forward(x, true).Span.ToArray();
            }
        }
        Assert.That(Run(2), Is.EqualTo(Run(1)));
    }

    [Test]
    public void RateZeroIsTheIdentityAndBadRatesAreRefused()
    {
        var x = Tensor.Ones(2, 3);
        Assert.That(Ops.Dropout(x, 0f, new RandomStream(1)), Is.SameAs(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(-0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(float.NaN));
    }

    [Test]
    public void PassesTheMaskOn()
    {
        Assert.That(new Dropout(0.5f).SupportsMasking, Is.True);
    }

    [Test]
    public void ConfigRoundTripsThroughTheRegistry()
    {
        var layer = new Dropout(0.35f, seed: 42, name: "drop");
        LayerConfig config = layer.GetConfig();
        var copy = (Dropout)LayerRegistry.Create(config);
        Assert.That(copy.Rate, Is.EqualTo(0.35f));
        Assert.That(copy.Seed, Is.EqualTo(42));
        Assert.That(copy.Name, Is.EqualTo("drop"));
        Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        Assert.That(copy.RandomState, Is.EqualTo(layer.RandomState));
    }

    [Test]
    public void AModelWithDropoutTrainsThroughFit()
    {
        var rng = new Random(1);
        var x = Tensor.Zeros(300, 4);
        var y = Tensor.Zeros(300);
        for (int i = 0; i < 300; i++)
        {
            int label = i % 3;
            y[i] = label;
            for (int f = 0; f < 4; f++)
                x[i, f] = (f == label ? 1.5f : 0f) + (rng.NextSingle() - 0.5f);
        }
        var data = new Dataset(x, y);
        var dropout = new Dropout(0.3f, seed: 1);
        var model = new Sequential([4], new Dense(32, ActivationFunction.Relu), dropout, new Dense(3, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.3f), new SparseCategoricalCrossEntropy(), 1);
        model.Output = TextWriter.Null;
        float before = model.Evaluate(data).Loss;
        TrainingHistory history = model.Fit(data, batchSize: 16, epochs: 10, verbose: 0);
        Assert.That(model.Evaluate(data).Loss, Is.LessThan(before * 0.5f));
        Assert.That(history.Last.Accuracy, Is.GreaterThan(0.8f));
        Assert.That(dropout.RandomState.Position, Is.EqualTo((ulong)(10 * 300 * 32 / 2)), "one 16-bit mask element per hidden value per example per epoch");
        Tensor probe = x;
        Assert.That(model.Predict(probe).Span.ToArray(), Is.EqualTo(model.Predict(probe).Span.ToArray()), "inference is deterministic");
    }
}
