using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// 2-D max pooling over NHWC images, remembering where each maximum came from.
/// </summary>
/// <remarks>
/// Shape legend: x is N×H×W×C, y and argmax are N×OH×OW×C. argmax holds the flat index into x of the
/// element that won each window; backward routes dY there: dX[argmax[o]] += dY[o]. Every path (the
/// fast 2×2 one, the generic one, inference without indices) follows <see cref="ConvReference.MaxPoolForward(ReadOnlySpan{float}, Span{float}, Span{int}, int, in ConvGeometry)"/>'s
/// rule: the window's first element (row-major) starts as the winner and a later one takes over when it
/// is greater, or when it is NaN and the winner is not. So ties go to the first maximum, a NaN
/// propagates, and a window of −∞ or NaN sends its gradient to its own first element. Windows never read padding
/// ("same" windows that overhang the edge just see fewer elements). Channels are innermost, so one
/// window step compares a whole vector of channels at once. Images are independent, so the batch is
/// split across threads without changing any result.
/// </remarks>
public static unsafe partial class MaxPoolKernels
{
    /// <summary>y = max over each window, per channel; argmax = flat index into x of the winner (empty: not wanted).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int batch, in ConvGeometry g)
    {
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            var job = PoolJob.Rent(g, batch, forward: true);
            (job.X, job.Y, job.ArgMax) = ((nint)px, (nint)py, (nint)pa);
            Parallelism.Run(job, batch);
        }
    }

    /// <summary>dX[argmax[o]] += dY[o] for every output element o.</summary>
    public static void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<int> argmax, Span<float> dX, int batch, in ConvGeometry g)
    {
        fixed (float* pdy = dY, pdx = dX)
        fixed (int* pa = argmax)
        {
            var job = PoolJob.Rent(g, batch, forward: false);
            (job.Y, job.X, job.ArgMax) = ((nint)pdy, (nint)pdx, (nint)pa);
            Parallelism.Run(job, batch);
        }
    }

    /// <summary>
    /// Forward for one image; indices are offset by <paramref name="imageOffset"/> (its start in x). An
    /// empty <paramref name="argmax"/> means inference: only the maxima are computed.
    /// </summary>
    public static void ForwardImage(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int imageOffset, in ConvGeometry g)
    {
        if (g is { KernelHeight: 2, KernelWidth: 2, StrideHeight: 2, StrideWidth: 2, PadTop: 0, PadLeft: 0 })
        {
            if (g.Channels % 16 == 0 && Vector512.IsHardwareAccelerated)
            {
                Forward2x2(x, y, argmax, imageOffset, g);
                return;
            }
            if (g.Channels % 8 == 0 && Avx2.IsSupported)
            {
                Forward2x2Avx2(x, y, argmax, imageOffset, g);
                return;
            }
        }
        bool wantIndex = !argmax.IsEmpty;
        int c = g.Channels, width = Vector<float>.Count;
        Span<int> laneOffsets = stackalloc int[width];
        for (int lane = 0; lane < width; lane++) laneOffsets[lane] = lane;
        var lanes = new Vector<int>(laneOffsets);
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            int h0 = Math.Max(0, oh * g.StrideHeight - g.PadTop), h1 = Math.Min(g.Height, oh * g.StrideHeight - g.PadTop + g.KernelHeight);
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                int w0 = Math.Max(0, ow * g.StrideWidth - g.PadLeft), w1 = Math.Min(g.Width, ow * g.StrideWidth - g.PadLeft + g.KernelWidth);
                int o = (oh * g.OutputWidth + ow) * c;
                int ch = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    for (; ch <= c - width; ch += width)
                    {
                        // The window's first element starts as the winner (so a window of −∞ or NaN
                        // points at itself, never at element 0 of the batch).
                        int first = (h0 * g.Width + w0) * c + ch;
                        var best = new Vector<float>(x.Slice(first));
                        var bestIndex = new Vector<int>(imageOffset + first) + lanes;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                int i = (ih * g.Width + iw) * c + ch;
                                var v = new Vector<float>(x.Slice(i));
                                var takes = Takes(v, best);
                                best = Vector.ConditionalSelect(takes, v, best);
                                bestIndex = Vector.ConditionalSelect(takes, new Vector<int>(imageOffset + i) + lanes, bestIndex);
                            }
                        best.CopyTo(y.Slice(o + ch));
                        if (wantIndex)
                            bestIndex.CopyTo(argmax.Slice(o + ch));
                    }
                }
                for (; ch < c; ch++)
                {
                    int first = (h0 * g.Width + w0) * c + ch;
                    float best = x[first];
                    int bestIndex = imageOffset + first;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                        {
                            int i = (ih * g.Width + iw) * c + ch;
                            if (x[i] > best || (float.IsNaN(x[i]) && !float.IsNaN(best)))
                            {
                                best = x[i];
                                bestIndex = imageOffset + i;
                            }
                        }
                    y[o + ch] = best;
                    if (wantIndex)
                        argmax[o + ch] = bestIndex;
                }
            }
        }
    }

    /// <summary>Lanes where <paramref name="v"/> takes over from <paramref name="best"/>: greater (strict: the first maximum wins ties), or NaN over a number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Takes(Vector<float> v, Vector<float> best) =>
        Vector.BitwiseOr(Vector.GreaterThan(v, best), Vector.AndNot(Vector.Equals(best, best), Vector.Equals(v, v)));

    /// <summary>Lanes where <paramref name="v"/> takes over from <paramref name="best"/> (see the <see cref="Vector{T}"/> overload).</summary>
    /// <remarks>With AVX-512 in two compares into mask registers (three compares and two mask operations otherwise):
    /// not ≤ (greater, or unordered: one of them NaN), kept only where <paramref name="best"/> is a number — "greater, or
    /// NaN over a number", and a NaN best keeps its place. Inlined on purpose: the fused convolution's tile runs it 12
    /// times beside 432 FMAs (<see cref="DirectConvForward.Pool"/>), and out of line (as the JIT left it there) a call
    /// takes its vectors through the stack and spills the caller's accumulators.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Takes(Vector512<float> v, Vector512<float> best) =>
        Avx512F.IsSupported
            ? Avx512F.CompareNotLessThanOrEqual(v, best) & Avx512F.CompareOrdered(best, best)
            : Vector512.GreaterThan(v, best) | Vector512.AndNot(Vector512.Equals(best, best), Vector512.Equals(v, v));

    /// <summary>
    /// The common case (2×2 windows, stride 2, channels a multiple of 16): each output vector is the
    /// maximum of four loads, and the winner's index is tracked with compare-and-select in window order
    /// (the same rule as the general path: first maximum on ties, NaN propagates).
    /// </summary>
    private static void Forward2x2(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int imageOffset, in ConvGeometry g)
    {
        int c = g.Channels, rowStride = g.Width * c;
        bool wantIndex = !argmax.IsEmpty;
        Vector512<int> lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            for (int oh = 0; oh < g.OutputHeight; oh++)
            {
                for (int ow = 0; ow < g.OutputWidth; ow++)
                {
                    int i00 = (2 * oh * g.Width + 2 * ow) * c, i01 = i00 + c, i10 = i00 + rowStride, i11 = i10 + c;
                    int o = (oh * g.OutputWidth + ow) * c;
                    for (int ch = 0; ch < c; ch += 16)
                    {
                        var a = Vector512.Load(px + i00 + ch);
                        var b = Vector512.Load(px + i01 + ch);
                        var d = Vector512.Load(px + i10 + ch);
                        var e = Vector512.Load(px + i11 + ch);
                        // The same selection with or without indices, so inference gives training's
                        // maxima bit for bit, NaN included.
                        var best = a;
                        var takes = Takes(b, best);
                        best = Vector512.ConditionalSelect(takes, b, best);
                        var takesD = Takes(d, best);
                        best = Vector512.ConditionalSelect(takesD, d, best);
                        var takesE = Takes(e, best);
                        best = Vector512.ConditionalSelect(takesE, e, best);
                        best.Store(py + o + ch);
                        if (!wantIndex)
                            continue;
                        var index = Vector512.Create(imageOffset + i00 + ch) + lanes;
                        index = Vector512.ConditionalSelect(takes.AsInt32(), Vector512.Create(imageOffset + i01 + ch) + lanes, index);
                        index = Vector512.ConditionalSelect(takesD.AsInt32(), Vector512.Create(imageOffset + i10 + ch) + lanes, index);
                        index = Vector512.ConditionalSelect(takesE.AsInt32(), Vector512.Create(imageOffset + i11 + ch) + lanes, index);
                        index.Store(pa + o + ch);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Whether <see cref="Unpool2x2"/> takes this pooling: 2×2 windows, stride 2, no padding (so every input element is
    /// in at most one window), channels a multiple of 16 and Vector512 accelerated (as <see cref="Forward2x2"/>; elsewhere
    /// the caller clears and scatters).
    /// </summary>
    internal static bool Unpools2x2(in ConvGeometry g) =>
        g is { KernelHeight: 2, KernelWidth: 2, StrideHeight: 2, StrideWidth: 2, PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0 }
        && ((Vector512.IsHardwareAccelerated && g.Channels % 16 == 0) || (Avx2.IsSupported && g.Channels % 8 == 0));

    /// <summary>
    /// One image's gradient through a 2×2 / 2 pooling, written whole: dX = 0, then dX[argmax[o]] += dY[o] for every
    /// output o (indices within the image) whose index lies in its window; an index that matches none of the window's
    /// positions sends nothing (<see cref="Conv2DKernels.ZeroedWindow"/>, the fused ReLU's mark). Same bits as that
    /// clear-and-scatter.
    /// </summary>
    /// <remarks>
    /// Shape legend: dX is H×W×C (the pooled input, e.g. a convolution's output), dY and argmax are OH×OW×C with
    /// OH = ⌊H/2⌋, OW = ⌊W/2⌋. The windows do not overlap, so each of the four positions of window o gets dY[o] where
    /// its index won (a compare with the position's own index, per channel) and zero elsewhere: four vector stores per
    /// vector of dY instead of clearing the whole image and scattering each element on its own. The last row and column
    /// of an odd H or W belong to no window and get zeros. A winner receives 0 + dY[o], as the scatter's addition into the
    /// cleared buffer gives it (−0 becomes +0). In the CIFAR-10 seed step this is bound by reading dY and argmax (3.7 MB
    /// a batch, from L3 or memory; it also read the pooled y for the ReLU before the forward marked the zeroed windows):
    /// 16 lanes instead of <see cref="Vector{T}"/>'s 8 took about 15% off it.
    /// </remarks>
    internal static void Unpool2x2(float* dY, int* argmax, float* dX, in ConvGeometry g)
    {
        if (!Vector512.IsHardwareAccelerated || g.Channels % 16 != 0)
        {
            Unpool2x2Avx2(dY, argmax, dX, g);
            return;
        }
        int c = g.Channels, width = Vector512<float>.Count, rowStride = g.Width * c, covered = 2 * g.OutputWidth * c;
        Vector512<int> lanes = Vector512<int>.Indices;
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                int i00 = (2 * oh * g.Width + 2 * ow) * c, o = (oh * g.OutputWidth + ow) * c;
                for (int ch = 0; ch < c; ch += width)
                {
                    Vector512<float> gradient = Vector512<float>.Zero + Vector512.Load(dY + o + ch);
                    Vector512<int> won = Vector512.Load(argmax + o + ch), index = Vector512.Create(i00 + ch) + lanes;
                    Vector512.Store(Vector512.ConditionalSelect(Vector512.Equals(won, index).AsSingle(), gradient, Vector512<float>.Zero), dX + i00 + ch);
                    Vector512.Store(Vector512.ConditionalSelect(Vector512.Equals(won, index + Vector512.Create(c)).AsSingle(), gradient, Vector512<float>.Zero), dX + i00 + c + ch);
                    index += Vector512.Create(rowStride);
                    Vector512.Store(Vector512.ConditionalSelect(Vector512.Equals(won, index).AsSingle(), gradient, Vector512<float>.Zero), dX + i00 + rowStride + ch);
                    Vector512.Store(Vector512.ConditionalSelect(Vector512.Equals(won, index + Vector512.Create(c)).AsSingle(), gradient, Vector512<float>.Zero),
                        dX + i00 + rowStride + c + ch);
                }
            }
            if (covered < rowStride) // an odd W: the last column of both rows
            {
                new Span<float>(dX + 2 * oh * rowStride + covered, rowStride - covered).Clear();
                new Span<float>(dX + (2 * oh + 1) * rowStride + covered, rowStride - covered).Clear();
            }
        }
        new Span<float>(dX + 2 * g.OutputHeight * rowStride, (g.Height - 2 * g.OutputHeight) * rowStride).Clear(); // an odd H: the last row
    }

    private sealed class PoolJob : ParallelJob
    {
        [ThreadStatic] private static PoolJob? t_cached;
        private readonly HomeRanges _images = new();
        public ConvGeometry G;
        public int Batch;
        public bool IsForward;
        public nint X, Y, ArgMax;

        public static PoolJob Rent(in ConvGeometry g, int batch, bool forward)
        {
            PoolJob job = t_cached ??= new PoolJob();
            (job.G, job.Batch, job.IsForward) = (g, batch, forward);
            job._images.Reset(batch, Parallelism.WorkersFor(batch));
            return job;
        }

        public override void RunWorker(int worker, int workerCount)
        {
            int inSize = G.InputImageSize, outSize = G.OutputPixels * G.Channels;
            int n, range = _images.HomeOf(worker);
            while ((n = _images.Take(ref range)) >= 0)
            {
                var y = new Span<float>((float*)Y + (long)n * outSize, outSize);
                var argmax = ArgMax == 0 ? Span<int>.Empty : new Span<int>((int*)ArgMax + (long)n * outSize, outSize);
                if (IsForward)
                {
                    ForwardImage(new ReadOnlySpan<float>((float*)X + (long)n * inSize, inSize), y, argmax, n * inSize, G);
                }
                else
                {
                    // Winners of image n lie inside image n, so images never write to each other's dX.
                    float* dX = (float*)X;
                    for (int o = 0; o < outSize; o++)
                        dX[argmax[o]] += y[o];
                }
            }
        }
    }
}
