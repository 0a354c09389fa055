namespace NanoNet.Kernels;

/// <summary>
/// Lowers a convolution to a matrix multiply: every output pixel's receptive field becomes one row.
/// </summary>
/// <remarks>
/// Shape legend (one NHWC image): x is H×W×C; col is (OH·OW)×(KH·KW·C) (+1, see the bias column), row r = oh·OW + ow, column
/// (kh·KW + kw)·C + c holds x[oh·sh − padTop + kh, ow·sw − padLeft + kw, c], or 0 in the padding.
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
    public static void Forward(ReadOnlySpan<float> x, Span<float> col, in ConvGeometry g, int rowStride)
    {
        int c = g.Channels, patch = g.PatchSize;
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                Span<float> fullRow = col.Slice((oh * g.OutputWidth + ow) * rowStride, rowStride);
                if (rowStride > patch)
                    fullRow[patch] = 1f;
                Span<float> row = fullRow[..patch];
                for (int kh = 0; kh < g.KernelHeight; kh++)
                {
                    int ih = oh * g.StrideHeight - g.PadTop + kh;
                    Span<float> run = row.Slice(kh * g.KernelWidth * c, g.KernelWidth * c);
                    if ((uint)ih >= (uint)g.Height)
                    {
                        run.Clear();
                        continue;
                    }
                    int iw0 = ow * g.StrideWidth - g.PadLeft;
                    if (iw0 >= 0 && iw0 + g.KernelWidth <= g.Width)
                    {
                        // The whole kernel row is inside the image: KW·C contiguous values.
                        x.Slice((ih * g.Width + iw0) * c, g.KernelWidth * c).CopyTo(run);
                        continue;
                    }
                    for (int kw = 0; kw < g.KernelWidth; kw++)
                    {
                        int iw = iw0 + kw;
                        Span<float> dst = run.Slice(kw * c, c);
                        if ((uint)iw < (uint)g.Width)
                            x.Slice((ih * g.Width + iw) * c, c).CopyTo(dst);
                        else
                            dst.Clear();
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Forward"/> (rows of P values): dX += scatter of dCol back to the pixels each row read.</summary>
    public static void Backward(ReadOnlySpan<float> dCol, Span<float> dX, in ConvGeometry g)
    {
        int c = g.Channels, patch = g.PatchSize;
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                ReadOnlySpan<float> row = dCol.Slice((oh * g.OutputWidth + ow) * patch, patch);
                for (int kh = 0; kh < g.KernelHeight; kh++)
                {
                    int ih = oh * g.StrideHeight - g.PadTop + kh;
                    if ((uint)ih >= (uint)g.Height)
                        continue;
                    for (int kw = 0; kw < g.KernelWidth; kw++)
                    {
                        int iw = ow * g.StrideWidth - g.PadLeft + kw;
                        if ((uint)iw >= (uint)g.Width)
                            continue;
                        Span<float> target = dX.Slice((ih * g.Width + iw) * c, c);
                        System.Numerics.Tensors.TensorPrimitives.Add(target, row.Slice((kh * g.KernelWidth + kw) * c, c), target);
                    }
                }
            }
        }
    }
}
