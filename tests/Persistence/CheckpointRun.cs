using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// A small, fast training run for the checkpoint tests: 4×4 one-channel images with random flips and
/// shifts, a Momentum optimizer (state: one velocity per weight) under a step schedule, shuffled batches.
/// </summary>
internal sealed class CheckpointRun
{
    public const int Seed = 3;

    public CheckpointRun()
    {
        Model = new Sequential([4, 4, 1], new Flatten(), new Dense(8, ActivationFunction.Tanh), new Dense(3, ActivationFunction.Softmax))
            { Output = TextWriter.Null };
        Model.Compile(new Momentum(0.1f) { Schedule = new StepDecay(0.1f, stepSize: 5, gamma: 0.7f) }, new SparseCategoricalCrossEntropy(), seed: Seed);
        Augmentation = new ImageAugmentation(horizontalFlip: true, maxShift: 1, seed: Seed);
    }

    public Model Model { get; }

    public ImageAugmentation Augmentation { get; }

    /// <summary>48 examples (the batch size 10 leaves a partial last batch).</summary>
    public static Dataset Data { get; } = new(
        Tensor.RandomUniform([48, 4, 4, 1], 0, 1, seed: 11),
        Tensor.FromArray([.. Enumerable.Range(0, 48).Select(i => (float)(i % 3))], 48));

    public TrainingHistory Fit(int epochs, IReadOnlyList<Callback>? callbacks = null, int initialEpoch = 0) =>
        Model.Fit(Data, batchSize: 10, epochs: epochs, seed: Seed, verbose: 0, batchTransform: b => Augmentation.Apply(b.Features),
            callbacks: callbacks, initialEpoch: initialEpoch);

    /// <summary>Every weight's bits, in order.</summary>
    public int[][] WeightBits() => [.. Model.Weights.Select(w => w.Span.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray())];

    public static int[] LossBits(TrainingHistory history) => [.. history.Epochs.Select(e => BitConverter.SingleToInt32Bits(e.Loss))];
}
