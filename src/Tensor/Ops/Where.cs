using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    private static readonly float[] ZeroValue = [0f];

    /// <summary>
    /// Y = mask ≠ 0 ? A : B, element by element, with all three broadcast together (NumPy/PyTorch rules, see
    /// <see cref="Add(Tensor, Tensor)"/>). A NaN mask element counts as non-zero. Masks typically come from
    /// the comparisons (<see cref="Greater(Tensor, Tensor)"/> and friends).
    /// </summary>
    /// <remarks>
    /// Backward: dA += dY where mask ≠ 0 and dB += dY where mask = 0, each summed over the axes that input
    /// was stretched on. The mask gets no gradient (it is a selector, not a value).
    /// </remarks>
    public static Tensor Where(Tensor mask, Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        int[] shape = BroadcastShape.Of(mask.Shape, a.Shape, b.Shape, "Where");
        var y = Tensor.Empty(shape);
        Broadcast.Select(mask.Span, mask.Shape, a.Span, a.Shape, b.Span, b.Shape, y.Span, y.Shape);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(WhereEntry.Rent(y, mask), a, b);
        Profiler.Stop("Where", started, 0);
        return y;
    }

    private sealed class WhereEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor mask = null!;

        public static WhereEntry Rent(Tensor y, Tensor mask)
        {
            WhereEntry entry = Rent<WhereEntry>(y);
            entry.mask = mask;
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            Tensor a = GetInput(0), b = GetInput(1);
            // The same selection run on dY and a zero: mask ? dY : 0 for A, mask ? 0 : dY for B.
            Tensor routed = Tensor.Empty(dY.Shape);
            if (a.RequiresGrad)
            {
                Broadcast.Select(mask.Span, mask.Shape, dY.Span, dY.Shape, ZeroValue, Shapes.ScalarShape, routed.Span, dY.Shape);
                AccumulateBroadcastGradient(a, routed.Span, dY.Shape);
            }
            if (b.RequiresGrad)
            {
                Broadcast.Select(mask.Span, mask.Shape, ZeroValue, Shapes.ScalarShape, dY.Span, dY.Shape, routed.Span, dY.Shape);
                AccumulateBroadcastGradient(b, routed.Span, dY.Shape);
            }
        }
    }
}
