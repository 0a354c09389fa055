using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.ResumeCheck;

/// <summary>
/// The training run of the exact-resume proof, shared by the test (which trains in its own process) and
/// this tool (which continues in a new one): a small CIFAR-10 network, Adam (state: two moments per
/// weight) under a cosine learning-rate schedule, random flips and shifts, shuffled batches.
/// </summary>
public static class ResumeRecipe
{
    /// <summary>Seed of initialisation, shuffling and augmentation.</summary>
    public const int Seed = 7;

    /// <summary>Batch size.</summary>
    public const int BatchSize = 50;

    /// <summary>The name of the augmentation's generator in checkpoints.</summary>
    public const string AugmentationStream = "augmentation";

    /// <summary>The first <paramref name="count"/> training images of CIFAR-10 at <paramref name="path"/>.</summary>
    public static Dataset LoadTrain(string path, int count) => Cifar10.Load(path, trainLimit: count, testLimit: 1).Train;

    /// <summary>A new run: the compiled model and its augmentation (nothing trained yet).</summary>
    public static (Model Model, ImageAugmentation Augmentation) Create()
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(8, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(32, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
        var optimizer = new Adam(0.002f) { Schedule = new CosineDecay(0.002f, decaySteps: 200, alpha: 0.1f) };
        model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed: Seed);
        model.Output = TextWriter.Null;
        return (model, new ImageAugmentation(horizontalFlip: true, maxShift: 2, seed: Seed));
    }

    /// <summary>Trains epochs <paramref name="initialEpoch"/> + 1 … <paramref name="epochs"/>.</summary>
    public static TrainingHistory Train(Model model, ImageAugmentation augmentation, Dataset train, int initialEpoch, int epochs) =>
        model.Fit(train, batchSize: BatchSize, epochs: epochs, seed: Seed, verbose: 0,
            batchTransform: batch => augmentation.Apply(batch.Features), initialEpoch: initialEpoch);

    /// <summary>Saves the run after <paramref name="epoch"/> epochs.</summary>
    public static void Save(Model model, ImageAugmentation augmentation, int epoch, string path) =>
        model.SaveCheckpoint(path, new TrainingState
        {
            Epoch = epoch,
            Step = model.Optimizer!.Iterations,
            RandomStates = { [AugmentationStream] = augmentation.Random.State },
        });

    /// <summary>Restores a run saved by <see cref="Save"/>; returns the epochs it had done.</summary>
    public static int Restore(Model model, ImageAugmentation augmentation, string path)
    {
        TrainingState state = model.LoadCheckpoint(path);
        augmentation.Random.Restore(state.RandomStates[AugmentationStream]);
        return state.Epoch;
    }

    /// <summary>Losses as the hexadecimal bits of each float, one per line (compared bitwise).</summary>
    public static string LossBits(TrainingHistory history) =>
        string.Join("\n", history.Epochs.Select(e => BitConverter.SingleToUInt32Bits(e.Loss).ToString("x8")));
}
