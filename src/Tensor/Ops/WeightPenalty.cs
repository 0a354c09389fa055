using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Diagnostics;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// The L1/L2 penalty of a weight, a scalar: y = l1·Σ|w| + l2·Σw². Backward: dW += dY·(l1·sign(w) + 2·l2·w)
    /// (sign(0) = 0). Shape legend: w any shape, y ().
    /// </summary>
    public static Tensor WeightPenalty(Tensor w, float l1, float l2)
    {
        ArgumentNullException.ThrowIfNull(w);
        long started = Profiler.Start();
        Tensor y = Tensor.Empty([]);
        ReadOnlySpan<float> values = w.Span;
        y[0] = (l1 == 0f ? 0f : l1 * TensorPrimitives.SumOfMagnitudes(values)) + (l2 == 0f ? 0f : l2 * TensorPrimitives.SumOfSquares(values));
        if (Tape.ShouldRecord(w))
            Tape.Record(WeightPenaltyEntry.Rent(y, w, l1, l2), w);
        Profiler.Stop("WeightPenalty", started, 0);
        return y;
    }

    private sealed class WeightPenaltyEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor w = null!;
        private float l1;
        private float l2;

        public static WeightPenaltyEntry Rent(Tensor y, Tensor w, float l1, float l2)
        {
            WeightPenaltyEntry entry = Rent<WeightPenaltyEntry>(y);
            (entry.w, entry.l1, entry.l2) = (w, l1, l2);
            return entry;
        }

        public override string OpName => "WeightPenalty";

        public override void Backward(Tensor dY)
        {
            Span<float> dW = w.EnsureGrad().Span;
            ReadOnlySpan<float> values = w.Span;
            float scale = dY[0];
            if (l2 != 0f)
                TensorPrimitives.MultiplyAdd(values, 2f * l2 * scale, dW, dW);
            if (l1 != 0f)
                for (int i = 0; i < dW.Length; i++)
                    dW[i] += l1 * scale * MathF.Sign(values[i]);
        }
    }
}
