using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Diagnostics;

namespace NanoNet.Losses;

/// <summary>
/// Mean squared error L = (1/n) Σ (p − t)² over all n elements. Backward: dP += dL · 2(p − t)/n;
/// the targets receive no gradient.
/// </summary>
public sealed class MeanSquaredError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_squared_error";

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets)
    {
        long started = Profiler.Start();
        if (predictions.Length != targets.Length)
            throw new ArgumentException($"Mean squared error: predictions {Shapes.Format(predictions.Shape)} and targets {Shapes.Format(targets.Shape)} have different sizes.");
        var difference = Tensor.EmptyLike(predictions);
        TensorPrimitives.Subtract(predictions.Span, targets.Span, difference.Span);
        var y = Tensor.Empty([]);
        y[0] = TensorPrimitives.SumOfSquares<float>(difference.Span) / Math.Max(1, predictions.Length);
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
