using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The direct ("implicit im2col") convolution for layers with a short kernel row (KW·C ≤ 192: a 3-channel stem, 3×3 over
/// up to 64 channels): the
/// patches are read where they lie in the (NHWC) images instead of being copied into an im2col matrix first. This file
/// holds when it applies and the image source the two kernels read (<see cref="DirectConvForward"/>,
/// <see cref="DirectConvWeightGradient"/>).
/// </summary>
/// <remarks>
/// <para>Shape legend: x is N×H×W×C; the kernel w is (KH, KW, C, F) = a P×F matrix with P = KH·KW·C; run = KW·C is
/// one kernel row of a patch; y is N×OH×OW×F. With 'same' padding the images are first copied into a zero-bordered
/// buffer of Hp×Wp×C, Hp = (OH − 1)·sh + KH and Wp = (OW − 1)·sw + KW; then every window lies inside it.</para>
/// <para>Why: for output pixel (oh, ow) and kernel row kh, the patch values (kh, 0..KW, 0..C) are the run of KW·C
/// contiguous floats at row oh·sh + kh, column ow·sw of the (padded) image, and the next pixel's run starts sw·C floats
/// later. So a register tile can take its A operand straight from the image with a constant stride, which is all the
/// GEMM's micro-kernel needs from a packed panel. With C = 3 a patch is only 27 values: building a 28-wide im2col row
/// costs about as much memory traffic as the 2·28·F flops it feeds, which is what kept the stem near 40% of peak. With
/// C = 32 or 64 the im2col matrix is 9x the image, written and read back through L2 for every chunk.</para>
/// <para>Bitwise: every output is the same chain of fused multiply-adds as in the im2col path, from zero over
/// p = (kh·KW + kw)·C + c in order, then the bias (the ones column, p = P), grouped in the GEMM's K slabs when the patch is
/// longer than one (<see cref="DirectConvForward"/>); every weight-gradient element is the same chain over the output
/// pixels in order. So both paths give the same bits, and the tests compare them exactly.</para>
/// </remarks>
internal static unsafe class DirectConv
{
    /// <summary>
    /// The longest kernel row (KW·C) the direct kernels take: 3×3 over up to 64 channels. First only the 3-channel stems
    /// (≤ 16, from reasoning); measured on Emerald Rapids (eleventh sitting), the Keras cifar10_cnn layers over 32 and 64
    /// channels (runs of 96 and 192) ran their forward 1.5–1.7x faster direct than through im2col + GEMM, the training step
    /// 9% faster at 1 thread (46.4 → 42.1 ms, steps alternated in one process) and 7% at 2. Longer runs are untimed.
    /// </summary>
    public const int MaxRun = 192;

    /// <summary>Off only in tests and benchmarks, to compare against the im2col path.</summary>
    internal static bool Enabled = true;

    /// <summary>Whether the direct kernels take this convolution: 512-bit vectors (the 2×4-pixel × 32-filter tile needs
    /// 16 accumulators), F a multiple of 32, no dilation, a short kernel row, and at least 2×4 output pixels.</summary>
    public static bool Applies(in ConvGeometry g, int filters) =>
        Enabled && Vector512.IsHardwareAccelerated && filters > 0 && filters % 32 == 0
        && g.DilationHeight == 1 && g.DilationWidth == 1 && g.KernelWidth * g.Channels <= MaxRun
        && g.OutputHeight >= 2 && g.OutputWidth >= 4;

    /// <summary>Whether the images must be copied into a zero-bordered buffer first (some window reaches past an edge).</summary>
    public static bool NeedsPadding(in ConvGeometry g) => g.PadTop > 0 || g.PadLeft > 0 || g.PadBottom > 0 || g.PadRight > 0;

    /// <summary>Floats of one padded image: Hp·Wp·C.</summary>
    public static int PaddedImageSize(in ConvGeometry g) => PaddedHeight(g) * PaddedWidth(g) * g.Channels;

    private static int PaddedHeight(in ConvGeometry g) => (g.OutputHeight - 1) * g.StrideHeight + g.KernelHeight;

    private static int PaddedWidth(in ConvGeometry g) => (g.OutputWidth - 1) * g.StrideWidth + g.KernelWidth;

    /// <summary>
    /// The images <paramref name="images"/> starting at <paramref name="x"/> as the kernels read them: in place when no
    /// window leaves the image, else copied into <paramref name="buffer"/> (at least images·<see cref="PaddedImageSize"/>
    /// floats) with the zero border.
    /// </summary>
    public static Source Prepare(float* x, int images, in ConvGeometry g, float* buffer) =>
        NeedsPadding(g) ? CopyPadded(x, images, g, buffer) : new Source(x, g.InputImageSize, g.Width * g.Channels);

    /// <summary>
    /// The images copied into <paramref name="buffer"/> as Hp×Wp padded images: padded pixel (ph, pw) holds input pixel
    /// (ph − PadTop, pw − PadLeft), or zero where that lies outside the image (the convolution's border).
    /// </summary>
    private static Source CopyPadded(float* x, int images, in ConvGeometry g, float* buffer)
    {
        int hp = PaddedHeight(g), wp = PaddedWidth(g), c = g.Channels, rowLength = wp * c, paddedSize = hp * rowLength;
        int left = Math.Min(g.PadLeft, wp), copied = Math.Clamp(wp - left, 0, g.Width);
        for (int i = 0; i < images; i++)
        {
            float* image = x + (long)i * g.InputImageSize, target = buffer + (long)i * paddedSize;
            for (int ph = 0; ph < hp; ph++, target += rowLength)
            {
                int ih = ph - g.PadTop;
                if ((uint)ih >= (uint)g.Height)
                {
                    new Span<float>(target, rowLength).Clear();
                    continue;
                }
                new Span<float>(target, left * c).Clear();
                new ReadOnlySpan<float>(image + (long)ih * g.Width * c, copied * c).CopyTo(new Span<float>(target + left * c, copied * c));
                new Span<float>(target + (left + copied) * c, (wp - left - copied) * c).Clear();
            }
        }
        return new Source(buffer, paddedSize, rowLength);
    }

    /// <summary>
    /// Images as the direct kernels read them: image i's padded row r starts at
    /// <c>Images + i·ImageStride + r·RowStride</c>, and holds its pixels' C channels one after another.
    /// </summary>
    public readonly struct Source(float* images, int imageStride, int rowStride)
    {
        public readonly float* Images = images;
        public readonly int ImageStride = imageStride, RowStride = rowStride;
    }
}
