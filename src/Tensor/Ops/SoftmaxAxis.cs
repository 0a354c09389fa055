using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Softmax along <paramref name="axis"/> (negative counts from the end): y = exp(x − c) / Σ exp(x − c),
    /// c = the max along the axis (stable). Along the last axis this is <see cref="Softmax(Tensor)"/> itself.
    /// Backward: dX += y ⊙ (dY − Σ dY⊙y), the sum along the axis.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range for x's shape.</exception>
    public static Tensor Softmax(Tensor x, int axis)
    {
        (int outer, int n, int inner) = SoftmaxBlocks("Softmax", x, axis);
        if (axis == -1 || axis == x.Rank - 1)
            return Softmax(x); // the last axis: the row kernel the models use
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        SoftmaxAxisKernels.SoftmaxForward(x.Span, y.Span, outer, n, inner);
        if (Tape.ShouldRecord(x))
            Tape.Record(SoftmaxAxisEntry.Rent(y, x, outer, n, inner, logarithm: false), x);
        Profiler.Stop("Softmax", started);
        return y;
    }

    /// <summary>
    /// Log-softmax along <paramref name="axis"/> (default: the last): y = x − c − log Σ exp(x − c), c = the
    /// max along the axis, so large inputs (e.g. 1000) neither overflow nor lose the small probabilities.
    /// Backward: dX += dY − softmax(x) ⊙ Σ dY = dY − exp(y) ⊙ Σ dY, the sum along the axis.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range for x's shape.</exception>
    public static Tensor LogSoftmax(Tensor x, int axis = -1)
    {
        (int outer, int n, int inner) = SoftmaxBlocks("LogSoftmax", x, axis);
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        SoftmaxAxisKernels.LogSoftmaxForward(x.Span, y.Span, outer, n, inner);
        if (Tape.ShouldRecord(x))
            Tape.Record(SoftmaxAxisEntry.Rent(y, x, outer, n, inner, logarithm: true), x);
        Profiler.Stop("LogSoftmax", started);
        return y;
    }

    /// <summary>x seen as (outer, n, inner) around <paramref name="axis"/>.</summary>
    private static (int Outer, int N, int Inner) SoftmaxBlocks(string op, Tensor x, int axis)
    {
        ArgumentNullException.ThrowIfNull(x);
        int rank = x.Rank, normalized = axis < 0 ? axis + rank : axis;
        if ((uint)normalized >= (uint)rank)
            throw new ArgumentException($"{op}: axis {axis} is out of range for shape {Shapes.Format(x.Shape)} (rank {rank}).");
        ReadOnlySpan<int> shape = x.Shape;
        return (Shapes.Product(shape[..normalized]), shape[normalized], Shapes.Product(shape[(normalized + 1)..]));
    }

    /// <summary>Backward of Softmax or LogSoftmax along an axis (the same arguments; only the kernel differs).</summary>
    private sealed class SoftmaxAxisEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private int outer;
        private int n;
        private int inner;
        private bool logarithm;

        public static SoftmaxAxisEntry Rent(Tensor y, Tensor x, int outer, int n, int inner, bool logarithm)
        {
            SoftmaxAxisEntry entry = Rent<SoftmaxAxisEntry>(y);
            (entry.x, entry.outer, entry.n, entry.inner, entry.logarithm) = (x, outer, n, inner, logarithm);
            return entry;
        }

        public override string OpName => logarithm ? "LogSoftmax" : "Softmax";

        public override void Backward(Tensor dY)
        {
            if (logarithm)
                SoftmaxAxisKernels.LogSoftmaxBackward(Output.Span, dY.Span, x.EnsureGrad().Span, outer, n, inner);
            else
                SoftmaxAxisKernels.SoftmaxBackward(Output.Span, dY.Span, x.EnsureGrad().Span, outer, n, inner);
        }
    }
}
