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
}
