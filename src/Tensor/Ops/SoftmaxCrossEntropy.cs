using NanoNet.Memory;
using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Mean sparse categorical cross-entropy of softmax(logits) against integer class labels, fused
    /// so it is computed stably from the logits (log-sum-exp) and its gradient is simply
    /// (softmax − one-hot) / N.
    /// </summary>
    /// <param name="logits">N×C scores (pre-softmax).</param>
    /// <param name="labels">N class ids stored as floats (any shape with N elements).</param>
    public static Tensor SoftmaxCrossEntropy(Tensor logits, Tensor labels)
    {
        long started = Profiler.Start();
        if (logits.Rank != 2)
            throw new ArgumentException($"SoftmaxCrossEntropy expects logits of shape (batch, classes), got {Shapes.Format(logits.Shape)}.");
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

    private sealed class SoftmaxCrossEntropyEntry(Tensor y, Tensor logits, Tensor probabilities, int[] classIds) : TapeEntry(y)
    {
        public override void Backward(Tensor dY) =>
            LossKernels.SoftmaxCrossEntropyBackward(probabilities.Span, classIds, logits.EnsureGrad().Span,
                logits.Dim(1), dY[0] / classIds.Length);
    }

    /// <summary>Reads labels stored as floats into class ids, checking each is an integer in [0, classes).</summary>
    internal static int[] ToClassIds(Tensor labels, int rows, int classes)
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
