using System.Globalization;
using NanoNet.Optim;

namespace NanoNet.Examples.MiniBatch;

/// <summary>One training configuration: batch size, optimizer and learning rate.</summary>
/// <param name="Optimizer">The optimizer's name, as shown: SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW.</param>
/// <param name="BatchSize">Examples per step; <see cref="FullBatch"/> means the whole training set.</param>
/// <param name="LearningRate">The optimizer's learning rate.</param>
internal sealed record RunSpec(string Optimizer, int BatchSize, float LearningRate)
{
    /// <summary>Stands for "the whole training set" as a batch size (batch gradient descent).</summary>
    public const int FullBatch = int.MaxValue;

    /// <summary>A fresh optimizer for one run (the display name, lower-cased, is the library's optimizer name).</summary>
    public Optimizer CreateOptimizer() => Optimizers.Create(Optimizer.ToLowerInvariant(), LearningRate);

    /// <summary>The batch size as text: "full" for batch gradient descent.</summary>
    public string BatchText => BatchSize == FullBatch ? "full" : BatchSize.ToString(CultureInfo.InvariantCulture);

    /// <summary>The learning rate as text, e.g. "0.001".</summary>
    public string LearningRateText => LearningRate.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>A unique, readable name such as "SGD b64 lr0.1".</summary>
    public string Key => $"{Optimizer} b{BatchText} lr{LearningRateText}";
}

/// <summary>A chart and table group: runs compared with each other, each with its label in that group.</summary>
/// <param name="Id">File-name prefix, e.g. "batch-size".</param>
/// <param name="Title">Chart title.</param>
/// <param name="Runs">The runs and their labels in the legend.</param>
internal sealed record RunGroup(string Id, string Title, IReadOnlyList<(string Label, RunSpec Spec)> Runs)
{
    /// <summary>
    /// The three comparisons of the lesson. Learning rates: plain SGD grows with the batch size (less noisy
    /// gradients tolerate longer steps), from 0.01 at batch 1 to 0.5 for the full batch; momentum methods use
    /// 0.01 with β = 0.9, whose steady-state step equals SGD at 0.1; the adaptive methods use Keras's default
    /// 0.001, except Adagrad at 0.01 (PyTorch's default; Keras's 0.001 barely moves in three epochs).
    /// </summary>
    public static IReadOnlyList<RunGroup> Lesson(int trainCount) =>
    [
        new("batch-size", "(a) Batch size: SGD, same examples seen",
        [
            ($"full batch ({trainCount:N0}), lr 0.5", new RunSpec("SGD", RunSpec.FullBatch, 0.5f)),
            ("batch 256, lr 0.2", new RunSpec("SGD", 256, 0.2f)),
            ("batch 64, lr 0.1", new RunSpec("SGD", 64, 0.1f)),
            ("batch 16, lr 0.05", new RunSpec("SGD", 16, 0.05f)),
            ("batch 1 (SGD), lr 0.01", new RunSpec("SGD", 1, 0.01f)),
        ]),
        new("optimizer", "(b) Optimizers at batch 64",
        [
            ("SGD, lr 0.1", new RunSpec("SGD", 64, 0.1f)),
            ("Momentum 0.9, lr 0.01", new RunSpec("Momentum", 64, 0.01f)),
            ("Nesterov 0.9, lr 0.01", new RunSpec("Nesterov", 64, 0.01f)),
            ("Adagrad, lr 0.01", new RunSpec("Adagrad", 64, 0.01f)),
            ("RMSprop, lr 0.001", new RunSpec("RMSprop", 64, 0.001f)),
            ("Adam, lr 0.001", new RunSpec("Adam", 64, 0.001f)),
            ("AdamW, lr 0.001", new RunSpec("AdamW", 64, 0.001f)),
        ]),
        new("learning-rate", "(c) Learning rate: SGD at batch 64",
        [
            ("lr 0.001", new RunSpec("SGD", 64, 0.001f)),
            ("lr 0.01", new RunSpec("SGD", 64, 0.01f)),
            ("lr 0.1", new RunSpec("SGD", 64, 0.1f)),
            ("lr 1.0", new RunSpec("SGD", 64, 1.0f)),
        ]),
    ];
}
