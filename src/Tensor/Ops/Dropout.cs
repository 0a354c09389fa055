using NanoNet.Autograd;
using NanoNet.Diagnostics;

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
    /// <para>Backward: dX += dY ⊙ mask·scale (the scaled mask is kept, as a step-memory tensor, for backward).</para>
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
        Tensor mask = Tensor.EmptyLike(x), y = Tensor.EmptyLike(x);
        // mask = (16 random bits)/2^16 ≥ rate ? 1/(1 − rate) : 0; and y = x ⊙ mask, piece by piece in one pass
        random.FillDropoutMask(mask.Span, rate, x.Span, y.Span);
        if (Tape.ShouldRecord(x))
            Tape.Record(DropoutEntry.Rent(y, x, mask), x);
        Profiler.Stop("Dropout", started, bytes: 3.0 * sizeof(float) * x.Length); // read x, write the mask and y
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
        private Tensor scaledMask = null!;

        public static DropoutEntry Rent(Tensor y, Tensor x, Tensor scaledMask)
        {
            DropoutEntry entry = Rent<DropoutEntry>(y);
            entry.x = x;
            entry.scaledMask = scaledMask;
            return entry;
        }

        /// <summary>Read dY and the mask, read and write dX (it accumulates; a new dX is only written).</summary>
        public override double BackwardBytes => 4.0 * sizeof(float) * x.Length;

        public override void Backward(Tensor dY)
        {
            if (!x.RequiresGrad)
                return;
            Span<float> dX = x.GradForFirstWrite(out bool overwrite).Span; // a new dX is stored, not cleared and added to
            Kernels.MaskedGradient.Backward(dY.Span, scaledMask.Span, dX, overwrite);
        }
    }
}
