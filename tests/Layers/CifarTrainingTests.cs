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
        model.Compile(new Adam(0.001f), new SparseCategoricalCrossEntropy(), seed: 0);
        model.Output = TextWriter.Null;

        float before = model.Evaluate(heldOut).Accuracy!.Value;
        TrainingHistory history = model.Fit(train, batchSize: 64, epochs: 3, seed: 0);
        float after = model.Evaluate(heldOut).Accuracy!.Value;
        TestContext.Out.WriteLine($"held-out accuracy {before:P1} -> {after:P1}; last-epoch training accuracy {history.Last.Accuracy:P1}; losses {string.Join(", ", history.Epochs.Select(e => e.Loss.ToString("F3")))}");

        Assert.That(history.Last.Loss, Is.LessThan(history.Epochs[0].Loss), "training loss must fall");
        // Adam (lr 0.001) learns this subset steadily: measured over seeds 0-4, held-out accuracy after 3
        // epochs is 44.5-46.5% (seed 0: 45.2%). (Plain SGD at 0.01 on 5,000 images swung between 14% and 29%
        // with the seed: too volatile to test against.) The bounds leave room for rounding differences
        // across machines, and fail if the model learns less than about four times chance.
        Assert.That(history.Last.Accuracy, Is.GreaterThan(0.40f), "training accuracy of the last epoch (this seed: 48.3%)");
        Assert.That(after, Is.GreaterThan(0.38f), "held-out accuracy (this seed: 45.2%)");
    }
}
