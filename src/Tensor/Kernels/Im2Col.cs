using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// Lowers a convolution to a matrix multiply: every output pixel's receptive field becomes one row.
/// </summary>
/// <remarks>
/// Shape legend (one NHWC image): x is H×W×C; col is (OH·OW)×(KH·KW·C) (+1, see the bias column), row r = oh·OW + ow, column
/// (kh·KW + kw)·C + c holds x[oh·sh − padTop + kh·dh, ow·sw − padLeft + kw·dw, c], or 0 in the padding (dh, dw: the
/// dilations, 1 for an ordinary convolution).
/// Because channels are innermost in NHWC, each (kh, kw) contributes one contiguous run of C values,
/// and the kernel (KH, KW, C, F) read as a (KH·KW·C)×F matrix multiplies col directly into the NHWC
/// output (OH·OW)×F: no transposes anywhere.
/// </remarks>
public static class Im2Col
{
    /// <summary>
    /// Fills <paramref name="col"/> from one image. With <paramref name="rowStride"/> = P + 1 each row
    /// gets a trailing 1, the "bias column": then col·[W; b] computes x*W + b in one GEMM, and
    /// colᵀ·dY yields [dW; db] in one GEMM too.
    /// </summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, Span<float> col, in ConvGeometry g, int rowStride)
    {
        if (x.Length < g.InputImageSize || col.Length < g.OutputPixels * rowStride)
            throw new ArgumentException($"Im2Col: image of {x.Length} values (need {g.InputImageSize}) or col of {col.Length} (need {g.OutputPixels * rowStride}).");
        int c = g.Channels, patch = g.PatchSize, run = g.KernelWidth * c;
        fixed (float* px = x, pcol = col)
        {
            for (int oh = 0; oh < g.OutputHeight; oh++)
            {
                for (int ow = 0; ow < g.OutputWidth; ow++)
                {
                    float* row = pcol + (long)(oh * g.OutputWidth + ow) * rowStride;
                    if (rowStride > patch)
                        row[patch] = 1f;
                    int iw0 = ow * g.StrideWidth - g.PadLeft;
                    bool rowInside = iw0 >= 0 && iw0 + (g.KernelWidth - 1) * g.DilationWidth < g.Width;
                    for (int kh = 0; kh < g.KernelHeight; kh++, row += run)
                    {
                        int ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                        if ((uint)ih >= (uint)g.Height)
                        {
                            new Span<float>(row, run).Clear();
                        }
                        else if (rowInside && g.DilationWidth == 1)
                        {
                            // The whole kernel row is inside the image: KW·C contiguous values. Short runs
                            // are copied inline: a call costs more than the copy.
                            float* src = px + (long)(ih * g.Width + iw0) * c;
                            if (run >= 8 && run <= 16)
                            {
                                // Two overlapping 8-float vectors cover any run of 8..16 (3×3 RGB = 9).
                                System.Runtime.Intrinsics.Vector256.Store(System.Runtime.Intrinsics.Vector256.Load(src), row);
                                System.Runtime.Intrinsics.Vector256.Store(System.Runtime.Intrinsics.Vector256.Load(src + run - 8), row + run - 8);
                            }
                            else if (run < 8)
                            {
                                for (int i = 0; i < run; i++) row[i] = src[i];
                            }
                            else
                            {
                                new ReadOnlySpan<float>(src, run).CopyTo(new Span<float>(row, run));
                            }
                        }
                        else
                        {
                            // Dilated, or overhanging the left or right edge: one run of C values per tap.
                            for (int kw = 0; kw < g.KernelWidth; kw++)
                            {
                                int iw = iw0 + kw * g.DilationWidth;
                                float* dst = row + kw * c;
                                if ((uint)iw >= (uint)g.Width)
                                    for (int i = 0; i < c; i++) dst[i] = 0f;
                                else if (c >= 16)
                                    new ReadOnlySpan<float>(px + (long)(ih * g.Width + iw) * c, c).CopyTo(new Span<float>(dst, c));
                                else
                                    for (int i = 0; i < c; i++) dst[i] = px[(long)(ih * g.Width + iw) * c + i];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Forward"/> (rows of P values) for the output pixels firstPixel..firstPixel + count
    /// (row r of dCol is output pixel firstPixel + r): dX += scatter of dCol back to the pixels each row read.
    /// </summary>
    /// <remarks>
    /// Each (row, tap) adds a run of C values into one pixel of dX: 9 runs per output pixel for a 3×3 kernel, so
    /// 16,200 runs of 32 floats per two-image chunk of the Keras 32-channel layer. The runs are added inline, a
    /// vector at a time (one element-wise add each, the same sums as a library call per run, without its
    /// per-call cost).
    /// </remarks>
    public static unsafe void Backward(ReadOnlySpan<float> dCol, Span<float> dX, in ConvGeometry g, int firstPixel, int count)
    {
        if (firstPixel < 0 || count < 0 || firstPixel + count > g.OutputPixels || dCol.Length < count * g.PatchSize || dX.Length < g.InputImageSize)
            throw new ArgumentException($"Im2Col.Backward: pixels {firstPixel}..{firstPixel + count} of {g.OutputPixels}, dCol of {dCol.Length} values (need {count * g.PatchSize}) or dX of {dX.Length} (need {g.InputImageSize}).");
        int c = g.Channels, patch = g.PatchSize;
        fixed (float* pCol = dCol, pdX = dX)
        {
            for (int pixel = firstPixel; pixel < firstPixel + count; pixel++)
            {
                int oh = pixel / g.OutputWidth, ow = pixel % g.OutputWidth;
                float* row = pCol + (long)(pixel - firstPixel) * patch;
                for (int kh = 0; kh < g.KernelHeight; kh++)
                {
                    int ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                    if ((uint)ih >= (uint)g.Height)
                        continue;
                    for (int kw = 0; kw < g.KernelWidth; kw++)
                    {
                        int iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                        if ((uint)iw >= (uint)g.Width)
                            continue;
                        AddRun(pdX + (long)(ih * g.Width + iw) * c, row + (kh * g.KernelWidth + kw) * c, c);
                    }
                }
            }
        }
    }

    /// <summary>target[0..count) += source[0..count), a vector at a time, then element by element.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddRun(float* target, float* source, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= count - 16; i += 16)
                Vector512.Store(Vector512.Load(target + i) + Vector512.Load(source + i), target + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= count - 8; i += 8)
                Vector256.Store(Vector256.Load(target + i) + Vector256.Load(source + i), target + i);
        for (; i < count; i++)
            target[i] += source[i];
    }
}
