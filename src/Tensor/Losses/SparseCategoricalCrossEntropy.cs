using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet.Losses;

/// <summary>
/// Cross-entropy between integer class labels and predicted class probabilities:
/// L = −(1/N) Σᵢ log pᵢ,yᵢ. Labels are class ids (N) stored as floats; predictions are (N, C), or
/// (N, T, C) with labels (N, T) for sequence targets.
/// </summary>
/// <remarks>
/// The work is done by one fused op from the logits z: L = (1/N) Σᵢ (logsumexp(zᵢ) − zᵢ,yᵢ), computed
/// stably, whose gradient is simply ∂L/∂z = (softmax(z) − onehot(y)) / N. When the model's last layer
/// is a softmax the training loop hands this loss the logits (<see cref="ComputeFromSoftmaxLogits"/>);
/// with <paramref name="fromLogits"/> the model's outputs are logits already; otherwise they are
/// probabilities p and the op runs on log p (softmax(log p) = p, so the same op computes −log p_y).
/// </remarks>
public sealed class SparseCategoricalCrossEntropy(bool fromLogits = false) : Loss
{
    /// <summary>Whether predictions are logits rather than probabilities.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <inheritdoc />
    public override string Name => "sparse_categorical_crossentropy";

    /// <inheritdoc />
    public override bool IsClassification => true;

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets)
    {
        Tensor rows = AsRows(predictions);
        return FromLogitsFused(FromLogits ? rows : Ops.Log(rows), targets);
    }

    /// <inheritdoc />
    public override Tensor? ComputeFromSoftmaxLogits(Tensor logits, Tensor targets) => FromLogitsFused(AsRows(logits), targets);

    private static Tensor AsRows(Tensor scores) => scores.Rank == 2 ? scores : Ops.Reshape(scores, -1, scores.Dim(-1));

    /// <summary>The fused softmax + cross-entropy op: logits (N, C), labels (N) → the mean loss, a scalar.</summary>
    private static Tensor FromLogitsFused(Tensor logits, Tensor labels)
    {
        long started = Profiler.Start();
        if (logits.Rank != 2)
            throw new ArgumentException($"Sparse categorical cross-entropy expects scores of shape (batch, classes), got {Shapes.Format(logits.Shape)}.");
        int rows = logits.Dim(0), classes = logits.Dim(1);
        int[] classIds = ToClassIds(labels, rows, classes);
        var probabilities = Tensor.Empty(rows, classes);
        float loss = LossKernels.SoftmaxCrossEntropyForward(logits.Span, classIds, probabilities.Span, classes);
        var y = Tensor.Empty([]);
        y[0] = loss;
        if (Tape.ShouldRecord(logits))
            Tape.Record(new SoftmaxCrossEntropyEntry(y, logits, probabilities, classIds), logits);
        Profiler.Stop("SoftmaxCrossEntropy", started, 0);
        return y;
    }

    /// <summary>dZ += (softmax − onehot) · dL / N, from the probabilities the forward pass kept.</summary>
    private sealed class SoftmaxCrossEntropyEntry(Tensor y, Tensor logits, Tensor probabilities, int[] classIds) : TapeEntry(y)
    {
        public override void Backward(Tensor dY) =>
            LossKernels.SoftmaxCrossEntropyBackward(probabilities.Span, classIds, logits.EnsureGrad().Span,
                logits.Dim(1), dY[0] / logits.Dim(0));
    }

    /// <summary>Reads labels stored as floats into class ids, checking each is an integer in [0, classes).</summary>
    private static int[] ToClassIds(Tensor labels, int rows, int classes)
    {
        if (labels.Length != rows)
            throw new ArgumentException($"Sparse labels: expected {rows} labels (one per row of the predictions), got shape {Shapes.Format(labels.Shape)}.");
        int[] ids = StepMemory.NewInts(rows);
        ReadOnlySpan<float> values = labels.Span;
        for (int i = 0; i < rows; i++)
        {
            float v = values[i];
            int id = (int)v;
            if (id != v || id < 0 || id >= classes)
                throw new ArgumentException($"Sparse labels: label {v} at row {i} of the batch is not a class id in [0, {classes}).");
            ids[i] = id;
        }
        return ids;
    }
}
