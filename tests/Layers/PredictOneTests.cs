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
            // At 2 threads the pool's helper may run part of a call: its bytes count too.
            var counter = new WorkerAllocationCounter(threads);
            long before = counter.Read();
            for (int i = 0; i < 50; i++)
                model.Predict(sample, output);
            Assert.That(counter.Read() - before, Is.Zero);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>
    /// A batch <see cref="Model.Forward(Tensor, bool)"/> inside a step memory (an inference server's loop, or the
    /// side-by-side inference cases) allocates nothing either: it once built a one-element input list and its result
    /// list with LINQ, 192 B a batch. The output is the same as the list-taking overload's.
    /// </summary>
    [TestCase("cnn")]
    [TestCase("text")]
    public void BatchForwardInAStepMemoryAllocatesNothing(string kind)
    {
        Sequential model = kind == "cnn" ? Cnn() : Text();
        Tensor x = Samples(kind);
        var memory = new NanoNet.Memory.StepMemory();
        float[] Step()
        {
            memory.Release();
            using (memory.Use())
            using (NanoNet.Autograd.Tape.NoGrad())
                return model.Forward(x).ToArray();
        }
        float[] expected = Step();
        Assert.That(model.Forward([x])[0].ToArray(), Is.EqualTo(expected), "the list overload gives the same bits");
        for (int i = 0; i < 3; i++)
            Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
        {
            memory.Release();
            using (memory.Use())
            using (NanoNet.Autograd.Tape.NoGrad())
                model.Forward(x);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    /// <summary>Small models, one per family of layers, for the zero-allocation check of single-sample Predict.</summary>
    private static Sequential LayerFamily(string kind)
    {
        Sequential model = kind switch
        {
            "conv-same" => new Sequential([8, 8, 3], new Conv2D(4, 3, padding: "same"), new Flatten(), new Dense(3)),
            "batchnorm" => new Sequential([6], new Dense(8), new BatchNormalization(), new Dense(3)),
            "activation" => new Sequential([6], new Dense(8), new Activation(ActivationFunction.Relu), new Dense(3)),
            "conv-bn-relu" => new Sequential([8, 8, 3], new Conv2D(4, 3, padding: "same"), new BatchNormalization(),
                new Activation(ActivationFunction.Relu), new Flatten(), new Dense(3)),
            "layernorm" => new Sequential([6], new Dense(8), new LayerNormalization(), new Dense(3)),
            "dropout" => new Sequential([6], new Dense(8), new Dropout(0.5f), new Dense(3)),
            "pooling" => new Sequential([8, 8, 3], new Conv2D(4, 3), new AveragePooling2D(2), new GlobalMaxPooling2D(), new Dense(3)),
            "avgpool" => new Sequential([8, 8, 3], new Conv2D(4, 3), new AveragePooling2D(2), new Flatten(), new Dense(3)),
            "globalmax" => new Sequential([8, 8, 3], new Conv2D(4, 3), new GlobalMaxPooling2D(), new Dense(3)),
            "globalavg" => new Sequential([8, 8, 3], new Conv2D(4, 3), new GlobalAveragePooling2D(), new Dense(3)),
            "batchnorm-partial" => new Sequential([6], new Dense(8), new BatchNormalization(center: false), new BatchNormalization(scale: false), new Dense(3)),
            "bn-folding-test-model" => new Sequential([8, 8, 3],
                new Conv2D(8, 3, padding: "same"), new BatchNormalization(momentum: 0.5f), new Activation(ActivationFunction.Relu),
                new Conv2D(6, 3), new BatchNormalization(momentum: 0.5f, center: false), new Activation(ActivationFunction.Relu),
                new Flatten(), new Dense(16), new BatchNormalization(momentum: 0.5f, scale: false), new Activation(ActivationFunction.Relu),
                new Dense(3, ActivationFunction.Softmax)),
            "conv1d-gru" => new Sequential([10, 4], new Conv1D(6, 3, padding: "causal"), new MaxPooling1D(2), new Gru(5), new Dense(3)),
            "bidirectional" => new Sequential([10, 4], new Bidirectional(new Lstm(5)), new Dense(3)),
            _ => throw new ArgumentException(kind),
        };
        model.Compile(new Sgd(0.01f), new MeanSquaredError(), seed: 1);
        return model;
    }

    [TestCase("conv-same")]
    [TestCase("batchnorm")]
    [TestCase("activation")]
    [TestCase("conv-bn-relu")]
    [TestCase("layernorm")]
    [TestCase("dropout")]
    [TestCase("pooling")]
    [TestCase("avgpool")]
    [TestCase("globalmax")]
    [TestCase("globalavg")]
    [TestCase("batchnorm-partial")]
    [TestCase("bn-folding-test-model")]
    [TestCase("conv1d-gru")]
    [TestCase("bidirectional")]
    public void AfterWarmUpACallAllocatesNothingWhateverTheLayers(string kind)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 1; // allocation is measured on this thread
        try
        {
            Sequential model = LayerFamily(kind);
            var sample = new float[model.InputShape.ToArray().Aggregate(1, (a, b) => a * b)];
            for (int i = 0; i < sample.Length; i++)
                sample[i] = (i * 37 % 11) / 11f;
            var output = new float[3];
            for (int i = 0; i < 3; i++)
                model.Predict(sample, output);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++)
                model.Predict(sample, output);
            long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
            Assert.That(perCall, Is.Zero, $"{kind}: bytes allocated per single-sample Predict after warm-up");
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
