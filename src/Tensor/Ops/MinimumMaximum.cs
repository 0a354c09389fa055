using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Y = max(A, B), element-wise with NumPy/PyTorch broadcasting (see <see cref="Add(Tensor, Tensor)"/>);
    /// IEEE 754 maximum: a NaN in either input gives NaN, and +0 is above −0.
    /// </summary>
    /// <remarks>
    /// Backward: the gradient goes to the larger input: dA += dY where A &gt; B, dB += dY where B &gt; A; on a
    /// tie (A = B) it is split, dY/2 to each (as PyTorch does); where either is NaN it all goes to B. Each
    /// is summed over the axes that input was stretched on.
    /// </remarks>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        Tensor y = BroadcastBinary<MaximumOperator>("Maximum", a, b);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(ChoiceEntry<MaximumShareOperator>.Rent(y, a, b, "Maximum"), a, b);
        Profiler.Stop("Maximum", started, 0);
        return y;
    }

    /// <summary>
    /// Y = min(A, B), element-wise with NumPy/PyTorch broadcasting (see <see cref="Add(Tensor, Tensor)"/>);
    /// IEEE 754 minimum: a NaN in either input gives NaN, and −0 is below +0.
    /// </summary>
    /// <remarks>
    /// Backward: the gradient goes to the smaller input: dA += dY where A &lt; B, dB += dY where B &lt; A; on a
    /// tie it is split, dY/2 to each; where either is NaN it all goes to B. Each is summed over the axes that
    /// input was stretched on.
    /// </remarks>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        long started = Profiler.Start();
        Tensor y = BroadcastBinary<MinimumOperator>("Minimum", a, b);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(ChoiceEntry<MinimumShareOperator>.Rent(y, a, b, "Minimum"), a, b);
        Profiler.Stop("Minimum", started, 0);
        return y;
    }

    /// <summary>Backward of min/max: TShare gives A's share of dY (1, ½ or 0) per output element; B gets the rest.</summary>
    private sealed class ChoiceEntry<TShare> : TapeEntry
        where TShare : struct, IBinaryOperator
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor a = null!, b = null!;
        private string name = null!;

        public static ChoiceEntry<TShare> Rent(Tensor y, Tensor a, Tensor b, string name)
        {
            ChoiceEntry<TShare> entry = Rent<ChoiceEntry<TShare>>(y);
            (entry.a, entry.b, entry.name) = (a, b, name);
            return entry;
        }

        public override string OpName => name;

        public override void Backward(Tensor dY)
        {
            Tensor share = Tensor.Empty(dY.Shape);
            Broadcast.Binary<TShare>(a.Span, a.Shape, b.Span, b.Shape, share.Span, dY.Shape);
            Span<float> g = share.Span;
            TensorPrimitives.Multiply(g, dY.Span, g);        // A's part of dY
            if (a.RequiresGrad)
                AccumulateBroadcastGradient(a, g, dY.Shape);
            if (b.RequiresGrad)
            {
                TensorPrimitives.Subtract(dY.Span, g, g);     // B's part: what A did not take
                AccumulateBroadcastGradient(b, g, dY.Shape);
            }
        }
    }
}
