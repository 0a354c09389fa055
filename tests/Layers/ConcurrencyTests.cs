using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>An inference service calling Predict from many threads; two trainings side by side.</summary>
public class ConcurrencyTests
{
    private static Dataset Blobs(int count, int features, int seed)
    {
        var rng = new RandomStream((ulong)seed);
        var x = Tensor.Zeros(count, features);
        var y = Tensor.Zeros(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            y[i] = label;
            for (int f = 0; f < features; f++)
                x[i, f] = (f % 3 == label ? 1.5f : 0f) + (rng.NextFloat() - 0.5f);
        }
        return new Dataset(x, y);
    }

    /// <summary>A residual model (a merge layer reads two values of the graph) trained for a few steps.</summary>
    private static Model TrainedResidualModel()
    {
        var input = new Input([12]);
        SymbolicTensor h = new Dense(24, ActivationFunction.Relu).Call(input);
        SymbolicTensor f = new Dense(24).Call(h);
        SymbolicTensor sum = new Activation(ActivationFunction.Relu).Call(new Add().Call(h, f));
        var model = new Model(input, new Dense(3, ActivationFunction.Softmax).Call(sum)) { Output = TextWriter.Null };
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed: 3);
        model.Fit(Blobs(192, 12, 4), batchSize: 32, epochs: 2, verbose: 0);
        return model;
    }

    [Test]
    public void PredictFromEightThreadsAtOnceGivesTheSingleThreadedResults()
    {
        Model model = TrainedResidualModel();
        Tensor[] inputs = [.. Enumerable.Range(0, 8).Select(t => Blobs(300 + 17 * t, 12, 10 + t).Features)];
        float[][] expected = [.. inputs.Select(x => model.Predict(x, batchSize: 64).ToArray())];
        float[] expectedLoss = [.. inputs.Select(x => model.Evaluate(new Dataset(x, Tensor.Zeros(x.Dim(0))), batchSize: 64).Loss)];

        using var start = new Barrier(8);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Thread[] callers = [.. Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                for (int round = 0; round < 25; round++)
                {
                    int which = (t + round) % 8;
                    float[] actual = model.Predict(inputs[which], batchSize: 64).ToArray();
                    if (!actual.AsSpan().SequenceEqual(expected[which]))
                        failures.Add($"caller {t}, round {round}: Predict on input {which} differs");
                    if (round % 5 == 0)
                    {
                        float loss = model.Evaluate(new Dataset(inputs[which], Tensor.Zeros(inputs[which].Dim(0))), batchSize: 64).Loss;
                        if (loss != expectedLoss[which])
                            failures.Add($"caller {t}, round {round}: Evaluate on input {which} gave {loss}, not {expectedLoss[which]}");
                    }
                }
            }
            catch (Exception e)
            {
                failures.Add($"caller {t}: {e.GetType().Name}: {e.Message}");
            }
        }))];
        foreach (Thread caller in callers)
            caller.Start();
        foreach (Thread caller in callers)
            caller.Join();
        Assert.That(failures, Is.Empty);
    }

    private static Sequential SmallConvNet(int seed)
    {
        var model = new Sequential([10, 10, 3],
            new Conv2D(8, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(16, ActivationFunction.Relu), new Dense(3, ActivationFunction.Softmax)) { Output = TextWriter.Null, MaxThreads = 1 };
        model.Compile(new Momentum(0.05f), new SparseCategoricalCrossEntropy(), seed: seed);
        return model;
    }

    private static Dataset Images(int seed) =>
        new(Tensor.RandomUniform([96, 10, 10, 3], 0, 1, seed), Tensor.FromArray([.. Enumerable.Range(0, 96).Select(i => (float)(i % 3))], 96));

    [Test]
    public void TwoOneThreadTrainingsRunSideBySideAndMatchTheSequentialResults()
    {
        float[] Train(int seed, out int widestRegion)
        {
            Sequential model = SmallConvNet(seed);
            Parallelism.ResetWidestRegion();
            model.Fit(Images(seed), batchSize: 16, epochs: 3, seed: seed, verbose: 0);
            widestRegion = Parallelism.WidestRegion;
            return [.. model.Weights.SelectMany(w => w.ToArray()), .. model.Predict(Images(seed + 100).Features).ToArray()];
        }

        float[] first = Train(1, out _), second = Train(2, out _);
        float[]? concurrentFirst = null, concurrentSecond = null;
        int widestFirst = 0, widestSecond = 0;
        var a = new Thread(() => concurrentFirst = Train(1, out widestFirst));
        var b = new Thread(() => concurrentSecond = Train(2, out widestSecond));
        a.Start(); b.Start();
        a.Join(); b.Join();
        Assert.That(concurrentFirst, Is.EqualTo(first).AsCollection, "model 1");
        Assert.That(concurrentSecond, Is.EqualTo(second).AsCollection, "model 2");
        // One worker per region means neither training ever entered the shared (serialised) worker pool.
        Assert.That(Math.Max(widestFirst, widestSecond), Is.LessThanOrEqualTo(1), "both trainings ran on their own thread only");
    }
}
