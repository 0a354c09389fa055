using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// x stretched to <paramref name="shape"/> (PyTorch's <c>expand</c>, NumPy's <c>broadcast_to</c>): shapes
    /// are aligned from the right, and every axis of x must equal the target's or be 1 (missing leading axes
    /// count as 1). The result is a new tensor holding the repeated values; when the shape already matches,
    /// <paramref name="x"/> itself is returned.
    /// </summary>
    /// <remarks>Backward: dX += dY summed over every stretched axis.</remarks>
    public static Tensor BroadcastTo(Tensor x, params ReadOnlySpan<int> shape)
    {
        foreach (int d in shape)
            if (d < 0)
                throw new ArgumentException($"Shape {Shapes.Format(shape)} has a negative dimension.");
        if (!BroadcastShape.CanStretch(x.Shape, shape))
            throw new ArgumentException($"BroadcastTo: shape {Shapes.Format(x.Shape)} cannot be stretched to {Shapes.Format(shape)} " +
                "(aligned from the right, each axis must match the target or be 1, and the target needs at least as many axes).");
        if (Shapes.Equal(x.Shape, shape))
            return x;
        long started = Profiler.Start();
        var y = Tensor.Empty(shape);
        Broadcast.Stretch(x.Span, x.Shape, y.Span, y.Shape);
        if (Tape.ShouldRecord(x))
            Tape.Record(BroadcastToEntry.Rent(y, x), x);
        Profiler.Stop("BroadcastTo", started, 0);
        return y;
    }

    private sealed class BroadcastToEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;

        public static BroadcastToEntry Rent(Tensor y, Tensor x)
        {
            BroadcastToEntry entry = Rent<BroadcastToEntry>(y);
            entry.x = x;
            return entry;
        }

        public override void Backward(Tensor dY) => AccumulateBroadcastGradient(x, dY.Span, dY.Shape);
    }
}
