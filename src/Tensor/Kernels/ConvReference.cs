namespace NanoNet.Kernels;

/// <summary>
/// Naive direct convolution and pooling (seven nested loops, no lowering, sums in double) that the fast kernels are
/// tested against. Shapes as in <see cref="Conv2DKernels"/>; w is (KH, KW, C, F).
/// </summary>
public static class ConvReference
{
    /// <summary>
    /// y[n, oh, ow, f] = b[f] + Σ_{kh, kw, c} x[n, ih, iw, c]·w[kh, kw, c, f] with ih = oh·sh − padTop + kh·dh and
    /// iw = ow·sw − padLeft + kw·dw, zero outside the image.
    /// </summary>
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
                                int ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight, iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                                if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                    continue;
                                for (int c = 0; c < g.Channels; c++)
                                    sum += (double)x[((n * g.Height + ih) * g.Width + iw) * g.Channels + c]
                                         * w[((kh * g.KernelWidth + kw) * g.Channels + c) * filters + f];
                            }
                        y[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * filters + f] = (float)sum;
                    }
    }

    /// <summary>
    /// The gradients of <see cref="Conv2DForward"/> for an upstream gradient dY: dW[kh, kw, c, f] =
    /// Σ x·dY, dBias[f] = Σ dY, dX[n, ih, iw, c] = Σ w·dY (each summed in double over the whole batch,
    /// overwriting the outputs).
    /// </summary>
    public static void Conv2DBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dY,
        Span<float> dW, Span<float> dBias, Span<float> dX, int batch, int filters, in ConvGeometry g)
    {
        var sumW = new double[dW.Length];
        var sumBias = new double[dBias.Length];
        var sumX = new double[dX.Length];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int f = 0; f < filters; f++)
                    {
                        double upstream = dY[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * filters + f];
                        sumBias[f] += upstream;
                        for (int kh = 0; kh < g.KernelHeight; kh++)
                            for (int kw = 0; kw < g.KernelWidth; kw++)
                            {
                                int ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight, iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                                if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                    continue;
                                for (int c = 0; c < g.Channels; c++)
                                {
                                    int xi = ((n * g.Height + ih) * g.Width + iw) * g.Channels + c;
                                    int wi = ((kh * g.KernelWidth + kw) * g.Channels + c) * filters + f;
                                    sumW[wi] += x[xi] * upstream;
                                    sumX[xi] += w[wi] * upstream;
                                }
                            }
                    }
        for (int i = 0; i < dW.Length; i++) dW[i] = (float)sumW[i];
        for (int i = 0; i < dBias.Length; i++) dBias[i] = (float)sumBias[i];
        for (int i = 0; i < dX.Length; i++) dX[i] = (float)sumX[i];
    }

    /// <summary>
    /// Max pooling with the winner of every window: y[n, oh, ow, c] = max of x over the window (elements
    /// inside the image only) and argmax = the flat index into x of the element that won.
    /// </summary>
    /// <remarks>
    /// The rule every max-pooling path follows: the window's first element (row-major) starts as the
    /// winner; a later element takes over when it is greater, or when it is NaN and the winner is not.
    /// So a NaN propagates (the first NaN wins), ties go to the first maximum, and a window of −∞ (or
    /// of NaN) routes its gradient to its own first element, never to some fixed element of the batch.
    /// </remarks>
    public static void MaxPoolForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int batch, in ConvGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        int winner = -1;
                        for (int kh = 0; kh < g.KernelHeight; kh++)
                            for (int kw = 0; kw < g.KernelWidth; kw++)
                            {
                                int ih = oh * g.StrideHeight - g.PadTop + kh, iw = ow * g.StrideWidth - g.PadLeft + kw;
                                if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                    continue;
                                int i = ((n * g.Height + ih) * g.Width + iw) * g.Channels + c;
                                if (winner < 0 || x[i] > x[winner] || (float.IsNaN(x[i]) && !float.IsNaN(x[winner])))
                                    winner = i;
                            }
                        int o = ((n * g.OutputHeight + oh) * g.OutputWidth + ow) * g.Channels + c;
                        y[o] = x[winner];
                        argmax[o] = winner;
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

    /// <summary>
    /// Average pooling, Keras's rule: y[n, oh, ow, c] = the mean of x over the window's elements inside the
    /// image (padding is not counted).
    /// </summary>
    public static void AvgPoolForward(ReadOnlySpan<float> x, Span<float> y, int batch, in ConvGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        double sum = 0;
                        int count = 0;
                        for (int kh = 0; kh < g.KernelHeight; kh++)
                            for (int kw = 0; kw < g.KernelWidth; kw++)
                            {
                                int ih = oh * g.StrideHeight - g.PadTop + kh, iw = ow * g.StrideWidth - g.PadLeft + kw;
                                if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                    continue;
                                sum += x[((n * g.Height + ih) * g.Width + iw) * g.Channels + c];
                                count++;
                            }
                        y[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * g.Channels + c] = (float)(sum / count);
                    }
    }

    /// <summary>The gradient of <see cref="AvgPoolForward"/>: dX[i] = Σ over windows o covering i of dY[o] / count(o) (overwriting dX).</summary>
    public static void AvgPoolBackward(ReadOnlySpan<float> dY, Span<float> dX, int batch, in ConvGeometry g)
    {
        var sums = new double[dX.Length];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        int count = 0;
                        for (int pass = 0; pass < 2; pass++) // count the window's pixels, then spread dY over them
                            for (int kh = 0; kh < g.KernelHeight; kh++)
                                for (int kw = 0; kw < g.KernelWidth; kw++)
                                {
                                    int ih = oh * g.StrideHeight - g.PadTop + kh, iw = ow * g.StrideWidth - g.PadLeft + kw;
                                    if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                        continue;
                                    if (pass == 0)
                                        count++;
                                    else
                                        sums[((n * g.Height + ih) * g.Width + iw) * g.Channels + c] +=
                                            (double)dY[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * g.Channels + c] / count;
                                }
                    }
        for (int i = 0; i < dX.Length; i++) dX[i] = (float)sums[i];
    }

    /// <summary>
    /// Depthwise convolution: y[n, oh, ow, c·M + m] = b[c·M + m] + Σ_{kh, kw} x[n, ih, iw, c]·w[kh, kw, c, m],
    /// with ih, iw as in <see cref="Conv2DForward"/> (dilations included), zero outside the image.
    /// </summary>
    public static void DepthwiseForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        int batch, int multiplier, in ConvGeometry g)
    {
        int k = g.Channels * multiplier;
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                        for (int m = 0; m < multiplier; m++)
                        {
                            double sum = bias[c * multiplier + m];
                            for (int kh = 0; kh < g.KernelHeight; kh++)
                                for (int kw = 0; kw < g.KernelWidth; kw++)
                                {
                                    int ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight, iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                                    if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                        continue;
                                    sum += (double)x[((n * g.Height + ih) * g.Width + iw) * g.Channels + c]
                                         * w[((kh * g.KernelWidth + kw) * g.Channels + c) * multiplier + m];
                                }
                            y[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * k + c * multiplier + m] = (float)sum;
                        }
    }

    /// <summary>The gradients of <see cref="DepthwiseForward"/> for an upstream dY (sums in double over the batch, overwriting the outputs).</summary>
    public static void DepthwiseBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dY,
        Span<float> dW, Span<float> dBias, Span<float> dX, int batch, int multiplier, in ConvGeometry g)
    {
        int k = g.Channels * multiplier;
        var sumW = new double[dW.Length];
        var sumBias = new double[dBias.Length];
        var sumX = new double[dX.Length];
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                        for (int m = 0; m < multiplier; m++)
                        {
                            double upstream = dY[((n * g.OutputHeight + oh) * g.OutputWidth + ow) * k + c * multiplier + m];
                            sumBias[c * multiplier + m] += upstream;
                            for (int kh = 0; kh < g.KernelHeight; kh++)
                                for (int kw = 0; kw < g.KernelWidth; kw++)
                                {
                                    int ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight, iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                                    if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                                        continue;
                                    int xi = ((n * g.Height + ih) * g.Width + iw) * g.Channels + c;
                                    int wi = ((kh * g.KernelWidth + kw) * g.Channels + c) * multiplier + m;
                                    sumW[wi] += x[xi] * upstream;
                                    sumX[xi] += w[wi] * upstream;
                                }
                        }
        for (int i = 0; i < dW.Length; i++) dW[i] = (float)sumW[i];
        for (int i = 0; i < dBias.Length; i++) dBias[i] = (float)sumBias[i];
        for (int i = 0; i < dX.Length; i++) dX[i] = (float)sumX[i];
    }
}
