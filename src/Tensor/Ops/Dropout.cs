using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Memory;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Inverted dropout: each element of <paramref name="x"/> is kept with probability 1 − <paramref name="rate"/>
    /// and scaled by 1/(1 − <paramref name="rate"/>), or else zeroed, so the expected output equals the input.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The mask is drawn from <paramref name="random"/>, 16 bits per element: element i is kept when h/2^16 is at least
    /// <paramref name="rate"/>, h being the low (even i) or high (odd i) half of the value at <c>Position + ⌊i/2⌋</c>, and
    /// the stream advances by ⌈x.Length/2⌉ (see <see cref="RandomStream"/>'s remarks, and its <c>FillDropoutMask</c> for
    /// why 16 bits). The mask therefore depends only on the stream's state, never on the thread count, and restoring
    /// the state draws the same mask again.
    /// </para>
    /// <para>A rate of 0 returns <paramref name="x"/> itself and draws nothing.</para>
    /// <para>Backward: dX += dY ⊙ mask (the keep decisions are kept for backward as one bit per element, a step-memory
    /// buffer 1/32 of x's size: <see cref="Kernels.DropoutBits"/>).</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not in [0, 1).</exception>
    public static Tensor Dropout(Tensor x, float rate, RandomStream random)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(random);
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must be in [0, 1).");
        if (rate == 0f)
            return x;
        long started = Profiler.Start();
        Tensor y = Tensor.EmptyLike(x);
        int[] keepBits = StepMemory.NewInts(Kernels.DropoutBits.Length(x.Length));
        // mask = (16 random bits)/2^16 ≥ rate ? 1/(1 − rate) : 0; y = x ⊙ mask, and the mask kept as bits, in one pass
        random.FillDropoutBits(rate, x.Span, y.Span, keepBits);
        if (Tape.ShouldRecord(x))
            Tape.Record(DropoutEntry.Rent(y, x, keepBits, 1f / (1f - rate)), x);
        Profiler.Stop("Dropout", started, bytes: 2.0 * sizeof(float) * x.Length + x.Length / 8.0); // read x, write y and the bits
        return y;
    }

    /// <summary>
    /// A (<paramref name="rows"/>, <paramref name="columns"/>) scaled keep-mask for recurrent dropout (Keras draws one per
    /// sequence and reuses it at every step): each element is 1/(1 − <paramref name="rate"/>) with probability
    /// 1 − <paramref name="rate"/>, else 0, drawn from <paramref name="random"/> exactly as <see cref="Dropout"/> draws
    /// (element i from half of the value at <c>Position + ⌊i/2⌋</c>; the stream advances by ⌈rows·columns/2⌉). Null, drawing nothing,
    /// when the rate is 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not in [0, 1).</exception>
    public static Tensor? DropoutMask(int rows, int columns, float rate, RandomStream random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must be in [0, 1).");
        if (rate == 0f)
            return null;
        Tensor mask = Tensor.Empty(rows, columns);
        random.FillDropoutMask(mask.Span, rate); // (16 random bits)/2^16 ≥ rate ? 1/(1 − rate) : 0
        return mask;
    }

    private sealed class DropoutEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private int[] keepBits = null!;
        private float scale;

        public static DropoutEntry Rent(Tensor y, Tensor x, int[] keepBits, float scale)
        {
            DropoutEntry entry = Rent<DropoutEntry>(y);
            (entry.x, entry.keepBits, entry.scale) = (x, keepBits, scale);
            return entry;
        }

        /// <summary>Read dY and the bits, read and write dX (it accumulates; a new dX is only written).</summary>
        public override double BackwardBytes => 3.0 * sizeof(float) * x.Length + x.Length / 8.0;

        public override void Backward(Tensor dY)
        {
            if (!x.RequiresGrad)
                return;
            Span<float> dX = x.GradForFirstWrite(out bool overwrite).Span; // a new dX is stored, not cleared and added to
            Kernels.DropoutBits.Backward(dY.Span, keepBits, scale, dX, overwrite);
        }
    }
}
