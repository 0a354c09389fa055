using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>After the first batch a training step reuses pooled storage, tensor objects and shapes.</summary>
public class AllocationTests
{
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
