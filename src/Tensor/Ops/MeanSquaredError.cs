using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Mean squared error L = (1/n) Σ (p − t)² over all n elements. Backward: dP += dL · 2(p − t)/n.
    /// The target receives no gradient.
    /// </summary>
    public static Tensor MeanSquaredError(Tensor predictions, Tensor targets)
    {
        long started = Profiler.Start();
        if (predictions.Length != targets.Length)
            throw new ArgumentException($"MeanSquaredError: predictions {Shapes.Format(predictions.Shape)} and targets {Shapes.Format(targets.Shape)} have different sizes.");
        var difference = Tensor.EmptyLike(predictions);
        TensorPrimitives.Subtract(predictions.Span, targets.Span, difference.Span);
        int n = Math.Max(1, predictions.Length);
        var y = Tensor.Empty([]);
        y[0] = TensorPrimitives.SumOfSquares<float>(difference.Span) / n;
        if (Tape.ShouldRecord(predictions))
            Tape.Record(new MeanSquaredErrorEntry(y, predictions, difference), predictions);
        Profiler.Stop("MeanSquaredError", started, 0);
        return y;
    }

    private sealed class MeanSquaredErrorEntry(Tensor y, Tensor predictions, Tensor difference) : TapeEntry(y)
    {
        public override void Backward(Tensor dY) =>
            TensorPrimitives.MultiplyAdd(difference.Span, 2f * dY[0] / Math.Max(1, difference.Length),
                predictions.EnsureGrad().Span, predictions.Grad!.Span);
    }
}
