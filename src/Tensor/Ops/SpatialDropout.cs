using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Spatial (feature-map) inverted dropout on channels-last data x (N, …, C): for each sample n and channel c
    /// one keep/drop draw decides the whole feature map x[n, …, c] — every time step or pixel of it is kept and
    /// scaled by 1/(1 − <paramref name="rate"/>), or all of it is zeroed. Keras's <c>SpatialDropout1D/2D</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Why whole maps: neighbouring steps or pixels of a feature map are strongly correlated, so dropping single
    /// elements hardly regularises a convolution (the neighbours carry the same information); dropping the map does.
    /// </para>
    /// <para>
    /// The (N, C) mask is drawn from <paramref name="random"/> exactly as <see cref="Dropout"/> draws its mask:
    /// entry i = n·C + c is kept when its 16 random bits (half of the value at <c>Position + ⌊i/2⌋</c>) over 2^16 are at
    /// least <paramref name="rate"/>, and the stream advances by ⌈N·C/2⌉. It depends only on the stream's state, never
    /// on the thread count.
    /// </para>
    /// <para>A rate of 0 returns <paramref name="x"/> itself and draws nothing.</para>
    /// <para>Backward: dX[n, s, c] += dY[n, s, c] · mask[n, c] (the scaled (N, C) mask is kept for backward).</para>
    /// </remarks>
    /// <exception cref="ArgumentException">x has rank below 3 (there is no map to drop).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not in [0, 1).</exception>
    public static Tensor SpatialDropout(Tensor x, float rate, RandomStream random)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(random);
        if (!(rate >= 0f && rate < 1f))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "A dropout rate must be in [0, 1).");
        if (x.Rank < 3)
            throw new ArgumentException($"SpatialDropout expects channels-last maps (batch, ..., channels) of rank 3 or more, got {Shapes.Format(x.Shape)}.", nameof(x));
        if (rate == 0f)
            return x;
        long started = Profiler.Start();
        int batch = x.Dim(0), channels = x.Dim(x.Rank - 1);
        int positions = 1;
        for (int axis = 1; axis < x.Rank - 1; axis++)
            positions *= x.Dim(axis);
        Tensor mask = Tensor.Empty(batch, channels);
        random.FillDropoutMask(mask.Span, rate); // (16 random bits)/2^16 ≥ rate ? 1/(1 − rate) : 0
        Tensor y = Tensor.EmptyLike(x);
        SpatialMaskKernels.Apply(x.Span, mask.Span, y.Span, batch, positions, channels);
        if (Tape.ShouldRecord(x))
            Tape.Record(SpatialDropoutEntry.Rent(y, x, mask, positions), x);
        Profiler.Stop("SpatialDropout", started, 0);
        return y;
    }

    private sealed class SpatialDropoutEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private Tensor scaledMask = null!;
        private int positions;

        public static SpatialDropoutEntry Rent(Tensor y, Tensor x, Tensor scaledMask, int positions)
        {
            SpatialDropoutEntry entry = Rent<SpatialDropoutEntry>(y);
            (entry.x, entry.scaledMask, entry.positions) = (x, scaledMask, positions);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            if (!x.RequiresGrad)
                return;
            Span<float> dX = x.GradForFirstWrite(out bool overwrite).Span; // a new dX is stored, not cleared and added to
            if (overwrite)
                SpatialMaskKernels.Apply(dY.Span, scaledMask.Span, dX, scaledMask.Dim(0), positions, scaledMask.Dim(1));
            else
                SpatialMaskKernels.ApplyAdd(dY.Span, scaledMask.Span, dX, scaledMask.Dim(0), positions, scaledMask.Dim(1));
        }
    }
}
