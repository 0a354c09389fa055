using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Surrounds <paramref name="x"/> with <paramref name="value"/>: <paramref name="padding"/>[k] gives
    /// how many positions to add before and after axis k (one entry per axis; (0, 0) leaves an axis alone).
    /// </summary>
    /// <remarks>
    /// <para>Shapes: (S₀, …) → (Before₀ + S₀ + After₀, …).</para>
    /// <para>Forward: y is filled with the value, then y[Before + i] = x[i].</para>
    /// <para>Backward: dX += the window of dY where x landed (the constant border has no inputs to feed).</para>
    /// </remarks>
    /// <exception cref="ArgumentException">padding does not have one entry per axis, or an amount is negative.</exception>
    public static Tensor Pad(Tensor x, (int Before, int After)[] padding, float value = 0f)
    {
        long started = Profiler.Start();
        ShapeOpChecks.NotNull("Pad", x);
        ArgumentNullException.ThrowIfNull(padding);
        ReadOnlySpan<int> shape = x.Shape;
        if (padding.Length != shape.Length)
            throw new ArgumentException($"Pad: padding has {padding.Length} entries but x has shape {Shapes.Format(shape)} (rank {shape.Length}); give one (before, after) pair per axis.");
        Span<int> before = stackalloc int[shape.Length];
        Span<int> outShape = stackalloc int[shape.Length];
        for (int k = 0; k < shape.Length; k++)
        {
            (int b, int a) = padding[k];
            if (b < 0 || a < 0)
                throw new ArgumentException($"Pad: padding ({b}, {a}) on axis {k} of shape {Shapes.Format(shape)} is negative; use Slice to cut.");
            long size = (long)b + shape[k] + a;
            if (size > int.MaxValue)
                throw new ArgumentException($"Pad: axis {k} of shape {Shapes.Format(shape)} padded by ({b}, {a}) is too long.");
            before[k] = b;
            outShape[k] = (int)size;
        }

        Tensor y = Tensor.Empty(outShape);
        y.Span.Fill(value);
        WindowKernels.CopyWindow(x.Span, shape, ShapeOpChecks.Origin(shape.Length), y.Span, y.Shape, before, shape);
        if (Tape.ShouldRecord(x))
            Tape.Record(PadEntry.Rent(y, x, before), x);
        Profiler.Stop("Pad", started);
        return y;
    }

    /// <summary>Backward of Pad: dX += the window of dY that x was copied into.</summary>
    private sealed class PadEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private int[] before = []; // the entry's own copy (see KeepCopy)

        public static PadEntry Rent(Tensor y, Tensor x, ReadOnlySpan<int> before)
        {
            PadEntry entry = Rent<PadEntry>(y);
            entry.x = x;
            KeepCopy(ref entry.before, before);
            return entry;
        }

        public override void Backward(Tensor dY) =>
            WindowKernels.CopyWindow(dY.Span, dY.Shape, before, x.EnsureGrad().Span, x.Shape, ShapeOpChecks.Origin(x.Rank), x.Shape, accumulate: true);
    }
}
