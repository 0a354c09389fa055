using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Positions [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) of
    /// <paramref name="x"/> along <paramref name="axis"/> (negative counts from the end), copied.
    /// </summary>
    /// <remarks>
    /// Shapes: (…, n, …) → (…, length, …). Forward and backward as for <see cref="Slice(Tensor, int[], int[])"/>
    /// with every other axis taken whole.
    /// </remarks>
    /// <exception cref="ArgumentException">The axis is out of range, or the window is negative or runs past the axis; the message names the axis, the bounds and the shape.</exception>
    public static Tensor Slice(Tensor x, int axis, int start, int length)
    {
        ShapeOpChecks.NotNull("Slice", x);
        ReadOnlySpan<int> shape = x.Shape;
        axis = ShapeOpChecks.Axis("Slice", axis, shape);
        int[] starts = new int[shape.Length];
        starts[axis] = start;
        return Slice(x, starts, ShapeOpChecks.WithDim(shape, axis, length));
    }

    /// <summary>
    /// The box of <paramref name="x"/> that starts at <paramref name="starts"/> and has size
    /// <paramref name="lengths"/> (one entry per axis), copied.
    /// </summary>
    /// <remarks>
    /// <para>Shapes: x (S₀, …) → y (lengths₀, …).</para>
    /// <para>Forward: y[i] = x[starts + i].</para>
    /// <para>Backward: dX[starts + i] += dY[i]; the rest of dX is untouched (those elements did not reach the output).</para>
    /// </remarks>
    /// <exception cref="ArgumentException">starts or lengths do not have one entry per axis, or a window is negative or runs past its axis; the message names the axis, the bounds and the shape.</exception>
    public static Tensor Slice(Tensor x, int[] starts, int[] lengths)
    {
        long started = Profiler.Start();
        ShapeOpChecks.NotNull("Slice", x);
        ArgumentNullException.ThrowIfNull(starts);
        ArgumentNullException.ThrowIfNull(lengths);
        ReadOnlySpan<int> shape = x.Shape;
        if (starts.Length != shape.Length || lengths.Length != shape.Length)
            throw new ArgumentException($"Slice: starts {Shapes.Format(starts)} and lengths {Shapes.Format(lengths)} need one entry per axis of shape {Shapes.Format(shape)}.");
        for (int k = 0; k < shape.Length; k++)
            if (starts[k] < 0 || lengths[k] < 0 || (long)starts[k] + lengths[k] > shape[k])
                throw new ArgumentException(
                    $"Slice: on axis {k} the window [{starts[k]}, {(long)starts[k] + lengths[k]}) (start {starts[k]}, length {lengths[k]}) " +
                    $"is outside [0, {shape[k]}) of shape {Shapes.Format(shape)}.");

        Tensor y = Tensor.Empty(lengths);
        WindowKernels.CopyWindow(x.Span, shape, starts, y.Span, y.Shape, ShapeOpChecks.Origin(y.Rank), y.Shape);
        if (Tape.ShouldRecord(x))
            Tape.Record(SliceEntry.Rent(y, x, starts), x);
        Profiler.Stop("Slice", started);
        return y;
    }

    /// <summary>Backward of Slice: dY is added into its window of dX.</summary>
    private sealed class SliceEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private int[] starts = []; // the entry's own copy (see KeepCopy)

        public static SliceEntry Rent(Tensor y, Tensor x, ReadOnlySpan<int> starts)
        {
            SliceEntry entry = Rent<SliceEntry>(y);
            entry.x = x;
            KeepCopy(ref entry.starts, starts);
            return entry;
        }

        public override void Backward(Tensor dY) =>
            WindowKernels.CopyWindow(dY.Span, dY.Shape, ShapeOpChecks.Origin(dY.Rank), x.EnsureGrad().Span, x.Shape, starts, dY.Shape, accumulate: true);
    }
}
