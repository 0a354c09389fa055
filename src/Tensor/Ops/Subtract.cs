using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>Y = A − B, element-wise with NumPy/PyTorch broadcasting (see <see cref="Add(Tensor, Tensor)"/>).</summary>
    /// <remarks>Backward: dA += dY and dB −= dY, each summed over the axes that input was stretched on.</remarks>
    public static Tensor Subtract(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        Tensor y = BroadcastBinary<SubtractOperator>("Subtract", a, b);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(SubtractEntry.Rent(y, a, b), a, b);
        Profiler.Stop("Subtract", started, 0);
        return y;
    }

    private sealed class SubtractEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor a = null!;
        private Tensor b = null!;

        public static SubtractEntry Rent(Tensor y, Tensor a, Tensor b)
        {
            SubtractEntry entry = Rent<SubtractEntry>(y);
            (entry.a, entry.b) = (a, b);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            if (a.RequiresGrad)
                AccumulateBroadcastGradient(a, dY.Span, dY.Shape);
            if (b.RequiresGrad)
                AccumulateBroadcastGradient(b, dY.Span, dY.Shape, subtract: true);
        }
    }
}
