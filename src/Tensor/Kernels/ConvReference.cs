namespace NanoNet.Kernels;

/// <summary>
/// Naive direct convolution and pooling (seven nested loops, no lowering) that the fast kernels are
/// tested against. Shapes as in <see cref="Conv2DKernels"/>; w is (KH, KW, C, F).
/// </summary>
public static class ConvReference
{
    /// <summary>y[n, oh, ow, f] = b[f] + Σ_{kh, kw, c} x[n, ih, iw, c]·w[kh, kw, c, f], zero outside the image.</summary>
    public static void Conv2DForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        int batch, int filters, in ConvGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int f = 0; f < filters; f++)
                    {
                        double sum = bias[f];
                        for (int kh = 0; kh < g.KernelHeight; kh++)
                            for (int kw = 0; kw < g.KernelWidth; kw++)
                            {
                                int ih = oh * g.StrideHeight - g.PadTop + kh, iw = ow * g.StrideWidth - g.PadLeft + kw;
                                if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                    continue;
                                for (int c = 0; c < g.Channels; c++)
                                    sum += (double)x[((n * g.Height + ih) * g.Width + iw) * g.Channels + c]
                                         * w[((kh * g.KernelWidth + kw) * g.Channels + c) * filters + f];
                            }
                        y[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * filters + f] = (float)sum;
                    }
    }

    /// <summary>y[n, oh, ow, c] = max of x over the window (elements inside the image only).</summary>
    public static void MaxPoolForward(ReadOnlySpan<float> x, Span<float> y, int batch, in ConvGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        float best = float.NegativeInfinity;
                        for (int kh = 0; kh < g.KernelHeight; kh++)
                            for (int kw = 0; kw < g.KernelWidth; kw++)
                            {
                                int ih = oh * g.StrideHeight - g.PadTop + kh, iw = ow * g.StrideWidth - g.PadLeft + kw;
                                if (ih >= 0 && ih < g.Height && iw >= 0 && iw < g.Width)
                                    best = Math.Max(best, x[((n * g.Height + ih) * g.Width + iw) * g.Channels + c]);
                            }
                        y[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * g.Channels + c] = best;
                    }
    }
}
