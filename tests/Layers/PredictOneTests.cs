using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Single-sample <see cref="Model.Predict(ReadOnlySpan{float}, Span{float})"/>: the batch Predict's row, without allocating.</summary>
public class PredictOneTests
{
    private static Sequential Cnn()
    {
        var model = new Sequential([10, 10, 3],
            new Conv2D(4, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(16, ActivationFunction.Relu), new Dense(5, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 1);
        return model;
    }

    private static Sequential Text()
    {
        var model = new Sequential([7], new Embedding(50, 8), new Lstm(6), new Dense(2, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 1);
        return model;
    }

    private static Tensor Samples(string kind) => kind == "cnn"
        ? Tensor.RandomUniform([3, 10, 10, 3], 0, 1, seed: 2)
        : Tensor.FromArray([.. Enumerable.Range(0, 21).Select(i => (float)(i * 7 % 50))], 3, 7);

    [TestCase("cnn")]
    [TestCase("text")]
    public void EachSampleGetsTheBatchPredictionsRow(string kind)
    {
        Sequential model = kind == "cnn" ? Cnn() : Text();
        Tensor x = Samples(kind);
        Tensor batch = model.Predict(x);
        int inputSize = x.Length / 3, outputSize = batch.Length / 3;
        var output = new float[outputSize];
        for (int row = 0; row < 3; row++)
        {
            model.Predict(x.Span.Slice(row * inputSize, inputSize), output);
            Assert.That(output, Is.EqualTo(batch.Span.Slice(row * outputSize, outputSize).ToArray()).Within(1e-6f), $"row {row}");
            Assert.That(output, Is.EqualTo(model.Predict(x.SliceRows(row, 1)).ToArray()), $"row {row}: same as a batch of one, bit for bit");
        }
    }

    [TestCase("cnn", 1)]
    [TestCase("text", 1)]
    [TestCase("cnn", 2)]
    [TestCase("text", 2)]
    public void AfterWarmUpACallAllocatesNothing(string kind, int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            Sequential model = kind == "cnn" ? Cnn() : Text();
            Tensor x = Samples(kind);
            float[] sample = x.Span[..(x.Length / 3)].ToArray();
            var output = new float[kind == "cnn" ? 5 : 2];
            for (int i = 0; i < 3; i++)
                model.Predict(sample, output);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++)
                model.Predict(sample, output);
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [TestCase("cnn")]
    [TestCase("text")]
    public void OneAndTwoThreadsGiveTheSameBits(string kind)
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Sequential model = kind == "cnn" ? Cnn() : Text();
            Tensor x = Samples(kind);
            int inputSize = x.Length / 3;
            var one = new float[kind == "cnn" ? 5 : 2];
            var two = new float[one.Length];
            for (int row = 0; row < 3; row++)
            {
                Parallelism.MaxThreads = 1;
                model.Predict(x.Span.Slice(row * inputSize, inputSize), one);
                Parallelism.MaxThreads = 2;
                model.Predict(x.Span.Slice(row * inputSize, inputSize), two);
                Assert.That(two, Is.EqualTo(one), $"row {row}");
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void WrongLengthsAreRefusedWithTheShapes()
    {
        Sequential model = Text();
        Assert.That(() => model.Predict(new float[6], new float[2]), Throws.ArgumentException.With.Message.Contains("(7)"));
        Assert.That(() => model.Predict(new float[7], new float[3]), Throws.ArgumentException.With.Message.Contains("2 values"));
    }
}
