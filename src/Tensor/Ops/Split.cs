using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Cuts <paramref name="x"/> along <paramref name="axis"/> into consecutive pieces of the given
    /// <paramref name="sizes"/> (which must add up to the axis' size); the inverse of <see cref="Concat"/>.
    /// </summary>
    /// <remarks>
    /// <para>Shapes: (…, s₀ + s₁ + …, …) → (…, s₀, …), (…, s₁, …), … Each piece is a copy and its own op
    /// output, so a loss may use any subset of them.</para>
    /// <para>Forward: piece t is the window of x starting at s₀ + … + s_{t−1} along the axis.</para>
    /// <para>Backward (per piece): dX's window += dYₜ.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">A size is negative or the sizes do not add up to the axis' size, or the axis is out of range.</exception>
    public static Tensor[] Split(Tensor x, int[] sizes, int axis)
    {
        ShapeOpChecks.NotNull("Split", x);
        ArgumentNullException.ThrowIfNull(sizes);
        ReadOnlySpan<int> shape = x.Shape;
        axis = ShapeOpChecks.Axis("Split", axis, shape);
        long sum = 0;
        foreach (int size in sizes)
        {
            if (size < 0)
                throw new ArgumentException($"Split: sizes {Shapes.Format(sizes)} contain a negative size (x has shape {Shapes.Format(shape)}, axis {axis}).");
            sum += size;
        }
        if (sum != shape[axis])
            throw new ArgumentException($"Split: sizes {Shapes.Format(sizes)} add up to {sum}, but axis {axis} of shape {Shapes.Format(shape)} has {shape[axis]} positions.");
        return SplitChecked(x, sizes, axis);
    }

    /// <summary>
    /// Cuts <paramref name="x"/> along <paramref name="axis"/> into <paramref name="parts"/> equal pieces;
    /// see <see cref="Split(Tensor, int[], int)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">parts is not positive or does not divide the axis' size, or the axis is out of range.</exception>
    public static Tensor[] Split(Tensor x, int parts, int axis)
    {
        ShapeOpChecks.NotNull("Split", x);
        ReadOnlySpan<int> shape = x.Shape;
        axis = ShapeOpChecks.Axis("Split", axis, shape);
        if (parts <= 0 || shape[axis] % parts != 0)
            throw new ArgumentException($"Split: cannot cut axis {axis} of shape {Shapes.Format(shape)} ({shape[axis]} positions) into {parts} equal parts.");
        int[] sizes = new int[parts];
        Array.Fill(sizes, shape[axis] / parts);
        return SplitChecked(x, sizes, axis);
    }

    private static Tensor[] SplitChecked(Tensor x, int[] sizes, int axis)
    {
        long started = Profiler.Start();
        var pieces = new Tensor[sizes.Length];
        Span<int> start = stackalloc int[x.Rank], outShape = stackalloc int[x.Rank];
        start.Clear();
        bool record = Tape.ShouldRecord(x);
        for (int t = 0; t < sizes.Length; t++)
        {
            Tensor y = Tensor.Empty(ShapeOpChecks.WithDim(x.Shape, axis, sizes[t], outShape));
            WindowKernels.CopyWindow(x.Span, x.Shape, start, y.Span, y.Shape, ShapeOpChecks.Origin(y.Rank), y.Shape);
            if (record)
                Tape.Record(SplitEntry.Rent(y, x, axis, start[axis]), x);
            pieces[t] = y;
            start[axis] += sizes[t];
        }
        Profiler.Stop("Split", started);
        return pieces;
    }

    /// <summary>Backward of one Split piece: dX[window starting at offset on the axis] += dY.</summary>
    private sealed class SplitEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private int axis;
        private int offset;

        public static SplitEntry Rent(Tensor y, Tensor x, int axis, int offset)
        {
            SplitEntry entry = Rent<SplitEntry>(y);
            (entry.x, entry.axis, entry.offset) = (x, axis, offset);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            Span<int> start = stackalloc int[x.Rank];
            start.Clear();
            start[axis] = offset;
            WindowKernels.CopyWindow(dY.Span, dY.Shape, ShapeOpChecks.Origin(dY.Rank), x.EnsureGrad().Span, x.Shape, start, dY.Shape, accumulate: true);
        }
    }
}
