using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The 2×2, stride-2 pooling's forward and backward on AVX2 machines (8 channels a vector, C a multiple of 8): the same
/// selection rule and the same bits as the 16-lane versions (<see cref="MaxPoolKernels.Forward2x2"/>,
/// <see cref="MaxPoolKernels.Unpool2x2"/>), which the generic path and the clear-and-scatter give too.
/// </summary>
/// <remarks>
/// Shape legend: as <see cref="MaxPoolKernels"/>: x (dX) is H×W×C, y, dY and argmax are OH×OW×C. Without these the
/// AVX2 machines ran the generic window loop (a span slice per element) and the scalar scatter: in the CIFAR-10 seed's
/// forward on a Zen 3 core the pooling after the convolution took about as long as the AVX2 direct convolution itself.
/// </remarks>
public static unsafe partial class MaxPoolKernels
{
    /// <summary>Lanes where <paramref name="v"/> takes over from <paramref name="best"/>: not ≤ (greater, or unordered),
    /// kept only where <paramref name="best"/> is a number — "greater, or NaN over a number", as the 16-lane version.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Takes(Vector256<float> v, Vector256<float> best) =>
        Avx.CompareNotLessThanOrEqual(v, best) & Avx.CompareOrdered(best, best);

    /// <summary>The 2×2 windows of one image, 8 channels at a time (<see cref="Forward2x2"/>'s loop).</summary>
    private static void Forward2x2Avx2(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int imageOffset, in ConvGeometry g)
    {
        int c = g.Channels, rowStride = g.Width * c;
        bool wantIndex = !argmax.IsEmpty;
        Vector256<int> right = Vector256.Create(c), below = Vector256.Create(rowStride);
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            for (int oh = 0; oh < g.OutputHeight; oh++)
            {
                for (int ow = 0; ow < g.OutputWidth; ow++)
                {
                    int i00 = (2 * oh * g.Width + 2 * ow) * c, i01 = i00 + c, i10 = i00 + rowStride, i11 = i10 + c;
                    int o = (oh * g.OutputWidth + ow) * c;
                    for (int ch = 0; ch < c; ch += 8)
                        Window2x2(Vector256.Load(px + i00 + ch), Vector256.Load(px + i01 + ch), Vector256.Load(px + i10 + ch),
                            Vector256.Load(px + i11 + ch), py + o + ch, wantIndex ? pa + o + ch : null, imageOffset + i00 + ch, right, below, relu: false);
                }
            }
        }
    }

    /// <summary>
    /// One 2×2 window of 8 channels: top-left <paramref name="a"/>, top-right <paramref name="b"/>, bottom-left
    /// <paramref name="d"/>, bottom-right <paramref name="e"/>, chosen in that order (the first maximum wins ties, NaN
    /// propagates); the maximum to <paramref name="y"/> and, in training (<paramref name="argmax"/> not null), its position
    /// (the top-left's is <paramref name="index"/>, the others <paramref name="right"/> and <paramref name="below"/> from
    /// it), or with <paramref name="relu"/> <see cref="Conv2DKernels.ZeroedWindow"/> where the maximum is not &gt; 0 (the
    /// fused convolutions' rule). The pooling pass above and the AVX2 convolutions that pool their own outputs
    /// (<see cref="DirectConvForward256"/>, the AVX2 Winograd forward) all choose here: the 8-lane
    /// <see cref="DirectConvForward.Pool"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Window2x2(Vector256<float> a, Vector256<float> b, Vector256<float> d, Vector256<float> e, float* y, int* argmax,
        int index, Vector256<int> right, Vector256<int> below, bool relu)
    {
        Vector256<float> best = a;
        Vector256<float> takesB = Takes(b, best);
        best = Vector256.ConditionalSelect(takesB, b, best);
        Vector256<float> takesD = Takes(d, best);
        best = Vector256.ConditionalSelect(takesD, d, best);
        Vector256<float> takesE = Takes(e, best);
        best = Vector256.ConditionalSelect(takesE, e, best);
        best.Store(y);
        if (argmax == null) // inference: no index
            return;
        // The winner's offset from the top-left position, chosen in the same order, then added once.
        Vector256<int> offset = takesB.AsInt32() & right;
        offset = Vector256.ConditionalSelect(takesD.AsInt32(), below, offset);
        offset = Vector256.ConditionalSelect(takesE.AsInt32(), below + right, offset);
        Vector256<int> winner = Vector256.Create(index) + Vector256<int>.Indices + offset;
        if (relu) // !(max > 0): 0, or NaN
            winner = Vector256.ConditionalSelect(Avx.CompareGreaterThan(best, Vector256<float>.Zero).AsInt32(), winner,
                Vector256.Create(Conv2DKernels.ZeroedWindow));
        winner.Store(argmax);
    }

    /// <summary>One image's gradient through the 2×2 windows, written whole, 8 channels at a time (<see cref="Unpool2x2"/>'s loop).</summary>
    private static void Unpool2x2Avx2(float* dY, int* argmax, float* dX, in ConvGeometry g)
    {
        int c = g.Channels, rowStride = g.Width * c, covered = 2 * g.OutputWidth * c;
        Vector256<int> lanes = Vector256<int>.Indices, right = Vector256.Create(c), below = Vector256.Create(rowStride);
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                int i00 = (2 * oh * g.Width + 2 * ow) * c, o = (oh * g.OutputWidth + ow) * c;
                for (int ch = 0; ch < c; ch += 8)
                {
                    Vector256<float> gradient = Vector256<float>.Zero + Vector256.Load(dY + o + ch);
                    Vector256<int> won = Vector256.Load(argmax + o + ch), index = Vector256.Create(i00 + ch) + lanes;
                    Vector256.Store(Vector256.ConditionalSelect(Vector256.Equals(won, index).AsSingle(), gradient, Vector256<float>.Zero), dX + i00 + ch);
                    Vector256.Store(Vector256.ConditionalSelect(Vector256.Equals(won, index + right).AsSingle(), gradient, Vector256<float>.Zero),
                        dX + i00 + c + ch);
                    index += below;
                    Vector256.Store(Vector256.ConditionalSelect(Vector256.Equals(won, index).AsSingle(), gradient, Vector256<float>.Zero),
                        dX + i00 + rowStride + ch);
                    Vector256.Store(Vector256.ConditionalSelect(Vector256.Equals(won, index + right).AsSingle(), gradient, Vector256<float>.Zero),
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
}
