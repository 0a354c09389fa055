using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>After the first batch a training step reuses pooled storage, tensor objects and shapes.</summary>
public class AllocationTests
{
    /// <summary>Bytes a steady training step of <paramref name="model"/> allocates on this thread, at one thread.</summary>
    private static long BytesPerStep(Model model, Dataset batch)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 1; // allocation is measured on this thread
        try
        {
            for (int i = 0; i < 3; i++)
                model.TrainStep(batch);
            long before = GC.GetAllocatedBytesForCurrentThread();
            const int steps = 20;
            for (int i = 0; i < steps; i++)
                model.TrainStep(batch);
            return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void ATransformerBlockTrainingStepAllocatesOnlyItsTapeEntriesAndViews()
    {
        var tokens = new Input([8, 12]);
        SymbolicTensor attended = new MultiHeadAttention(2, 6).Call(tokens, tokens, useCausalMask: true);
        SymbolicTensor h = new LayerNormalization().Call(new Add().Call(tokens, attended));
        h = new BatchNormalization().Call(new Dense(12).Call(h));
        var model = new Model(tokens, new Dense(4, ActivationFunction.Softmax).Call(new GlobalAveragePooling1D().Call(h)));
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy());
        var batch = new Dataset(Tensor.RandomUniform([16, 8, 12], 0, 1, 1), Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)(i % 4)).ToArray(), 16));
        long perStep = BytesPerStep(model, batch);
        TestContext.Out.WriteLine($"{perStep} bytes per step");
        // MultiHeadAttention is composed of ~15 ops: their tape entries and the per-call views of its kernels
        // are what remains (no buffers: those come from step memory).
        Assert.That(perStep, Is.LessThan(8192), $"{perStep} bytes per step");
    }

    [Test]
    public void SteadyTrainingStepAllocatesUnderOneKilobyte()
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 1; // allocation is measured on this thread
        try
        {
            var model = new Sequential([16, 16, 3],
                new Conv2D(8, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
                new Dense(32, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
            model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy());
            var batch = new Dataset(Tensor.RandomUniform([16, 16, 16, 3], 0, 1, 1), Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)(i % 10)).ToArray(), 16));
            for (int i = 0; i < 3; i++)
                model.TrainStep(batch);
            long before = GC.GetAllocatedBytesForCurrentThread();
            const int steps = 20;
            for (int i = 0; i < steps; i++)
                model.TrainStep(batch);
            long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
            Assert.That(perStep, Is.LessThan(1024), $"{perStep} bytes per step");
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>
    /// Each recurrent layer with dropout, recurrent dropout, a padding mask and go_backwards, in Embedding → layer →
    /// Dense: under 1 KB a step (a one-direction LSTM model measured about 750 B). Bidirectional runs two recurrent ops
    /// and a merge, each op's tape entry and saved-buffer record a few hundred bytes, so it gets 1.5 KB (about 1.3 KB).
    /// </summary>
    [TestCase("lstm", 1024)]
    [TestCase("gru", 1024)]
    [TestCase("simple_rnn", 1024)]
    [TestCase("bidirectional", 1536)]
    public void SteadyRecurrentTrainingStepWithDropoutAndMasksAllocatesLittle(string kind, int bound)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 1; // allocation is measured on this thread
        try
        {
            Layer recurrent = kind switch
            {
                "lstm" => new Lstm(8, returnSequences: true, dropout: 0.2f, recurrentDropout: 0.2f, goBackwards: true),
                "gru" => new Gru(8, returnSequences: true, dropout: 0.2f, recurrentDropout: 0.2f, goBackwards: true),
                "simple_rnn" => new SimpleRnn(8, returnSequences: true, dropout: 0.2f, recurrentDropout: 0.2f, goBackwards: true),
                _ => new Bidirectional(new Lstm(8, returnSequences: true, dropout: 0.2f, recurrentDropout: 0.2f)),
            };
            var model = new Sequential([12], new Embedding(40, 8, maskZero: true), recurrent, new Dense(2, ActivationFunction.Softmax));
            model.Compile(new Adam(), new SparseCategoricalCrossEntropy());
            Tensor ids = Tensor.RandomUniform([16, 12], 0, 40, 2);
            foreach (ref float id in ids.Span)
                id = MathF.Floor(id);
            var batch = new Dataset(ids, Tensor.FromArray(Enumerable.Range(0, 16 * 12).Select(i => (float)(i % 2)).ToArray(), 16, 12));
            for (int i = 0; i < 3; i++)
                model.TrainStep(batch);
            long before = GC.GetAllocatedBytesForCurrentThread();
            const int steps = 20;
            for (int i = 0; i < steps; i++)
                model.TrainStep(batch);
            long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
            Assert.That(perStep, Is.LessThan(bound), $"{perStep} bytes per step");
            TestContext.Out.WriteLine($"{kind}: {perStep} bytes per step");
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>
    /// An encoder–decoder: an LSTM returning its states, a decoder LSTM starting from them, a loss on the decoder's
    /// output and one on the encoder's c. The multi-output call adds a tape entry's output list and the recorded inputs'
    /// list (a few dozen bytes each) to what a one-output LSTM allocates.
    /// </summary>
    [Test]
    public void SteadyEncoderDecoderTrainingStepWithStatesAllocatesLittle()
    {
        var source = new Input([6, 4]);
        var target = new Input([5, 3]);
        var (_, h, c) = new Lstm(8, returnState: true).Call(source);
        SymbolicTensor decoded = new Lstm(8, returnSequences: true).Call(target, [h, c]);
        var model = new Model([source, target], [new Dense(2, ActivationFunction.Softmax).Call(decoded), c]);
        model.Compile(new Adam(), [new SparseCategoricalCrossEntropy(), new MeanSquaredError()]);
        var batch = new Dataset([Tensor.RandomUniform([16, 6, 4], -1, 1, 1), Tensor.RandomUniform([16, 5, 3], -1, 1, 2)],
            [Tensor.FromArray(Enumerable.Range(0, 16 * 5).Select(i => (float)(i % 2)).ToArray(), 16, 5), Tensor.Zeros(16, 8)]);
        long perStep = BytesPerStep(model, batch);
        TestContext.Out.WriteLine($"{perStep} bytes per step");
        Assert.That(perStep, Is.LessThan(2048), $"{perStep} bytes per step");
    }
}
