using NanoNet.Kernels;

namespace NanoNet.Losses;

/// <summary>
/// Cross-entropy between integer class labels and predicted class probabilities:
/// L = −(1/N) Σᵢ log pᵢ,yᵢ. Labels are class ids (N) stored as floats; predictions are (N, C), or
/// (N, T, C) with labels (N, T) for sequence targets.
/// </summary>
/// <remarks>
/// The work is done by one fused op from the logits z: ℓᵢ = logsumexp(zᵢ) − zᵢ,yᵢ, computed stably,
/// whose gradient is simply ∂ℓᵢ/∂z = softmax(zᵢ) − onehot(yᵢ). When the model's last layer is a softmax
/// the training loop hands this loss the logits (<see cref="ComputeFromLogits"/>); with
/// <paramref name="fromLogits"/> the model's outputs are logits already; otherwise they are
/// probabilities p and the op runs on log p (softmax(log p) = p, so the same op computes −log p_y).
/// </remarks>
public sealed class SparseCategoricalCrossEntropy(bool fromLogits = false) : PerSampleLoss
{
    /// <summary>Whether predictions are logits rather than probabilities.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <inheritdoc />
    public override string Name => "sparse_categorical_crossentropy";

    /// <inheritdoc />
    public override bool IsClassification => true;

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets, Tensor? sampleWeights) =>
        Reduce(FromLogits ? predictions : Ops.Log(predictions), targets, sampleWeights, fromLogits: true);

    /// <inheritdoc />
    public override Tensor? ComputeFromSoftmaxLogits(Tensor logits, Tensor targets) => ComputeFromLogits(ActivationFunction.Softmax, logits, targets, null);

    /// <inheritdoc />
    public override Tensor? ComputeFromLogits(ActivationFunction activation, Tensor logits, Tensor targets, Tensor? sampleWeights) =>
        activation == ActivationFunction.Softmax ? Reduce(logits, targets, sampleWeights, fromLogits: true) : null;

    /// <inheritdoc />
    protected override int TargetsPerSample(int columns) => 1;

    /// <inheritdoc />
    protected override void SampleLosses(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns,
        Span<float> sampleLoss, Span<float> gradient, bool fromLogits)
    {
        Span<int> classIds = ToClassIds(targets, columns);
        LossKernels.SoftmaxCrossEntropy(predictions, classIds, sampleLoss, gradient, columns);
    }

    /// <summary>Reads labels stored as floats into class ids, checking each is an integer in [0, classes).</summary>
    private static Span<int> ToClassIds(ReadOnlySpan<float> labels, int classes)
    {
        Span<int> ids = Memory.StepMemory.NewInts(labels.Length).AsSpan(0, labels.Length);
        for (int i = 0; i < labels.Length; i++)
        {
            float v = labels[i];
            int id = (int)v;
            if (id != v || id < 0 || id >= classes)
                throw new ArgumentException($"Sparse labels: label {v} at row {i} of the batch is not a class id in [0, {classes}).");
            ids[i] = id;
        }
        return ids;
    }
}
