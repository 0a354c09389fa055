using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>The CIFAR-10 seed model trained briefly on real images (needs NANONET_DATA).</summary>
public class CifarTrainingTests
{
    [Test]
    public void SeedModelLearnsOnARealSubset()
    {
        string? root = Environment.GetEnvironmentVariable("NANONET_DATA");
        string archive = root is null ? "" : Path.Combine(root, "cifar-10-binary.tar.gz");
        if (!File.Exists(archive))
            Assert.Ignore("Set NANONET_DATA to the folder holding cifar-10-binary.tar.gz to run this test.");

        var (train, test) = Cifar10.Load(archive, trainLimit: 5000);
        Dataset heldOut = test.Take(2000);
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 0);
        model.Output = TextWriter.Null;

        float before = model.Evaluate(heldOut).Accuracy!.Value;
        TrainingHistory history = model.Fit(train, batchSize: 64, epochs: 3, seed: 0);
        float after = model.Evaluate(heldOut).Accuracy!.Value;
        TestContext.Out.WriteLine($"held-out accuracy {before:P1} -> {after:P1}; losses {string.Join(", ", history.Epochs.Select(e => e.Loss.ToString("F3")))}");

        Assert.That(history.Last.Loss, Is.LessThan(history.Epochs[0].Loss), "training loss must fall");
        // Measured over seeds 0-19: the training accuracy of the last epoch (averaged over its batches) is
        // stable, 26-29%, while the held-out accuracy of the final weights swings between 14% and 29%
        // depending on where the last SGD step lands (seed 0: 19%). So "twice chance" is asked of the
        // stable number, and the volatile one must be clearly above chance.
        Assert.That(history.Last.Accuracy, Is.GreaterThan(0.20f), "training accuracy at least twice the 10% of chance (this seed: about 26%)");
        Assert.That(after, Is.GreaterThan(0.15f), "held-out accuracy clearly above the 10% of chance (this seed: about 19%)");
    }
}
