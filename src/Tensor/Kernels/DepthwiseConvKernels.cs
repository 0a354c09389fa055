using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NanoNet.Memory;
using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Depthwise 2-D convolution over NHWC images: every input channel is convolved with its own
/// <c>M</c> filters (Keras's <c>depth_multiplier</c>), never mixed with the other channels.
/// </summary>
/// <remarks>
/// <para>Shape legend: x and dX are N×H×W×C; the kernel w is (KH, KW, C, M), read as KH·KW taps of K = C·M
/// values; bias is K; y and dY are N×OH×OW×K with output channel j = c·M + m.</para>
/// <para>y[o, j] = b[j] + Σ_tap x[i(o, tap), j / M]·w[tap, j] (i: the input pixel the tap reads, with the
/// strides, dilations and padding of <see cref="ConvGeometry"/>; taps in the padding are skipped).</para>
/// <para>Why not im2col + GEMM: each output channel has only KH·KW inputs (9 for 3×3), far too little work
/// per GEMM column. Instead channels are innermost in NHWC, so one vector of output channels takes one
/// multiply-add per tap: x's pixel run times the tap's run of w. With M &gt; 1 each image is first expanded
/// to K channels (x repeated M times per channel), so the same loop serves every multiplier; backward sums
/// the expanded gradient back over the M copies.</para>
/// <para>Backward: db[j] = Σ dY[o, j]; dW[tap, j] = Σ_o x[i(o, tap), j / M]·dY[o, j]; dX[i, c] += Σ w[tap, j]·dY[o, j]
/// over the (o, tap) reading pixel i and the j of channel c. Images are split across threads; each image's
/// dW and db go to its own partial sums, added in image order afterwards, so results are bit-identical at
/// any thread count. Every lane width (512, 256, scalar) computes acc + x·w in the same order (no fused
/// multiply-add), so results do not depend on the machine's vector width either.</para>
/// </remarks>
public static unsafe class DepthwiseConvKernels
{
    /// <summary>y = bias + depthwise(x, w) for a batch.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y,
        int batch, int multiplier, in ConvGeometry g)
    {
        CheckLengths(x.Length, w.Length, batch, multiplier, g);
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            var job = DepthwiseJob.Rent(g, multiplier, forward: true);
            (job.X, job.W, job.B, job.Y) = ((nint)px, (nint)pw, (nint)pb, (nint)py);
            job.Run(batch);
        }
    }

    /// <summary>
    /// Given dY, accumulates dW += Σ x·dY and dBias += Σ dY (when those spans are non-empty) and
    /// dX += the taps' w·dY (when <paramref name="dX"/> is non-empty).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> dY,
        Span<float> dW, Span<float> dBias, Span<float> dX, int batch, int multiplier, in ConvGeometry g)
    {
        CheckLengths(x.Length, w.Length, batch, multiplier, g);
        int k = g.Channels * multiplier, taps = g.KernelHeight * g.KernelWidth;
        bool parameters = !dW.IsEmpty || !dBias.IsEmpty;
        var job = DepthwiseJob.Rent(g, multiplier, forward: false);
        int stride = (taps + 1) * k; // one image's partial [dW; db]
        float[] partials = job.Partials(parameters ? stride * batch : 0);
        fixed (float* px = x, pw = w, pdy = dY, pdx = dX, ppart = partials)
        {
            (job.X, job.W, job.Y, job.DX, job.PartialSums) = ((nint)px, (nint)pw, (nint)pdy, (nint)pdx, (nint)ppart);
            (job.WantParameters, job.WantInput) = (parameters, !dX.IsEmpty);
            job.Run(batch);
        }
        if (!parameters)
            return;
        for (int n = 0; n < batch; n++) // image order: the same sums at any thread count
        {
            ReadOnlySpan<float> part = partials.AsSpan(n * stride, stride);
            if (!dW.IsEmpty)
                TensorPrimitives.Add(dW, part[..(taps * k)], dW);
            if (!dBias.IsEmpty)
                TensorPrimitives.Add(dBias, part.Slice(taps * k, k), dBias);
        }
    }

    private static void CheckLengths(int xLength, int wLength, int batch, int multiplier, in ConvGeometry g)
    {
        if (xLength < batch * g.InputImageSize || wLength != g.KernelHeight * g.KernelWidth * g.Channels * multiplier)
            throw new ArgumentException($"DepthwiseConv2D: x has {xLength} values (need {batch * g.InputImageSize}), w has {wLength} (need {g.KernelHeight * g.KernelWidth * g.Channels * multiplier}).");
    }

    /// <summary>
    /// The taps of output pixel (oh, ow) that read inside the image: their pixel indices into the image
    /// (in pixels, not values) and their tap indices into w. Returns how many. <paramref name="tapOffsets"/>
    /// holds each tap's pixel offset from the window's top-left corner. After an edge pixel, taps must be
    /// reset to 0, 1, 2, ... before an interior one (the caller does).
    /// </summary>
    private static int Taps(in ConvGeometry g, int oh, int ow, Span<int> pixels, Span<int> taps, ReadOnlySpan<int> tapOffsets)
    {
        int top = oh * g.StrideHeight - g.PadTop, left = ow * g.StrideWidth - g.PadLeft;
        if (top >= 0 && top + (g.KernelHeight - 1) * g.DilationHeight < g.Height && left >= 0 && left + (g.KernelWidth - 1) * g.DilationWidth < g.Width)
        {
            // Inside the image (most pixels): every tap, at fixed offsets from the window's corner; taps already holds 0, 1, 2, ...
            int corner = top * g.Width + left;
            for (int t = 0; t < tapOffsets.Length; t++)
                pixels[t] = corner + tapOffsets[t];
            return tapOffsets.Length;
        }
        int count = 0;
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
                pixels[count] = ih * g.Width + iw;
                taps[count++] = kh * g.KernelWidth + kw;
            }
        }
        return count;
    }

    private static void ResetTaps(Span<int> taps)
    {
        for (int t = 0; t < taps.Length; t++)
            taps[t] = t;
    }

    /// <summary>
    /// One output pixel's channels [ch, ch + L) for lanes L: acc = b; acc += x·w per tap, in tap order.
    /// <paramref name="x"/> is the (possibly expanded) image with K channels per pixel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardBlock<T>(float* x, float* w, float* b, float* y, int k, int ch, ReadOnlySpan<int> pixels, ReadOnlySpan<int> taps)
        where T : struct, ILanes<T>
    {
        T acc = T.Load(ref *b, (nuint)ch);
        for (int t = 0; t < pixels.Length; t++)
            acc += T.Load(ref *x, (nuint)((long)pixels[t] * k + ch)) * T.Load(ref *w, (nuint)((long)taps[t] * k + ch));
        T.Store(acc, ref *y, (nuint)ch);
    }

    /// <summary>
    /// <see cref="ForwardBlock{T}"/> for four consecutive blocks [ch, ch + 4L) at once: four independent
    /// accumulator chains hide the add latency (each lane still sums in tap order, so results are the same).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ForwardBlock4<T>(float* x, float* w, float* b, float* y, int k, int ch, ReadOnlySpan<int> pixels, ReadOnlySpan<int> taps)
        where T : struct, ILanes<T>
    {
        nuint l = (nuint)T.Count, c0 = (nuint)ch;
        T a0 = T.Load(ref *b, c0), a1 = T.Load(ref *b, c0 + l), a2 = T.Load(ref *b, c0 + 2 * l), a3 = T.Load(ref *b, c0 + 3 * l);
        for (int t = 0; t < pixels.Length; t++)
        {
            float* xp = x + (long)pixels[t] * k + ch, wp = w + (long)taps[t] * k + ch;
            a0 += T.Load(ref *xp, 0) * T.Load(ref *wp, 0);
            a1 += T.Load(ref *xp, l) * T.Load(ref *wp, l);
            a2 += T.Load(ref *xp, 2 * l) * T.Load(ref *wp, 2 * l);
            a3 += T.Load(ref *xp, 3 * l) * T.Load(ref *wp, 3 * l);
        }
        T.Store(a0, ref *y, c0);
        T.Store(a1, ref *y, c0 + l);
        T.Store(a2, ref *y, c0 + 2 * l);
        T.Store(a3, ref *y, c0 + 3 * l);
    }

    /// <summary>One output pixel's channels [ch, ch + L) of backward: db += dy; dW[tap] += x·dy; dX[pixel] += w·dy (db, dW, dX null: not wanted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BackwardBlock<T>(float* x, float* w, float* dy, float* dW, float* db, float* dX, int k, int ch, ReadOnlySpan<int> pixels, ReadOnlySpan<int> taps)
        where T : struct, ILanes<T>
    {
        T upstream = T.Load(ref *dy, (nuint)ch);
        if (db != null)
            T.Store(T.Load(ref *db, (nuint)ch) + upstream, ref *db, (nuint)ch);
        for (int t = 0; t < pixels.Length; t++)
        {
            nuint xi = (nuint)((long)pixels[t] * k + ch), wi = (nuint)((long)taps[t] * k + ch);
            if (dW != null)
                T.Store(T.Load(ref *dW, wi) + T.Load(ref *x, xi) * upstream, ref *dW, wi);
            if (dX != null)
                T.Store(T.Load(ref *dX, xi) + T.Load(ref *w, wi) * upstream, ref *dX, xi);
        }
    }

    private sealed class DepthwiseJob : ImageJob
    {
        [ThreadStatic] private static DepthwiseJob? t_cached;
        private float[] _partials = [];
        private ConvGeometry _g;
        private int _multiplier;
        private bool _forward;

        public nint X, W, B, Y, DX, PartialSums;
        public bool WantParameters, WantInput;

        public static DepthwiseJob Rent(in ConvGeometry g, int multiplier, bool forward)
        {
            DepthwiseJob job = t_cached ??= new DepthwiseJob();
            (job._g, job._multiplier, job._forward) = (g, multiplier, forward);
            (job.B, job.DX, job.PartialSums, job.WantParameters, job.WantInput) = (0, 0, 0, false, false);
            return job;
        }

        public float[] Partials(int length)
        {
            if (_partials.Length < length)
                _partials = new float[length];
            return _partials;
        }

        // The worker's expanded image (x repeated M times per channel) and its gradient, rented once per worker.
        [ThreadStatic] private static float[]? t_expanded, t_expandedGrad;

        public override void RunWorker(int worker, int workerCount)
        {
            int expandedSize = _multiplier == 1 ? 0 : _g.Height * _g.Width * _g.Channels * _multiplier;
            int generation = ScratchBuffers.Generation;
            t_expanded = expandedSize > 0 ? ScratchBuffers.Rent(expandedSize) : null;
            t_expandedGrad = expandedSize > 0 && !_forward && WantInput ? ScratchBuffers.Rent(expandedSize) : null;
            try
            {
                base.RunWorker(worker, workerCount);
            }
            finally
            {
                if (t_expanded is not null)
                    ScratchBuffers.Return(t_expanded, generation);
                if (t_expandedGrad is not null)
                    ScratchBuffers.Return(t_expandedGrad, generation);
                (t_expanded, t_expandedGrad) = (null, null);
            }
        }

        protected override void RunImage(int n)
        {
            ConvGeometry g = _g;
            int c = g.Channels, m = _multiplier, k = c * m, pixelsPerImage = g.Height * g.Width;
            float* x = (float*)X + (long)n * g.InputImageSize;
            if (m > 1) // expand: xe[p, c·M + m] = x[p, c]
            {
                fixed (float* xe = t_expanded)
                {
                    for (int p = 0; p < pixelsPerImage; p++)
                        for (int ch = 0; ch < c; ch++)
                            new Span<float>(xe + (long)p * k + ch * m, m).Fill(x[(long)p * c + ch]);
                    RunExpanded(n, xe, k);
                }
            }
            else
            {
                RunExpanded(n, x, k);
            }
        }

        private void RunExpanded(int n, float* x, int k)
        {
            ConvGeometry g = _g;
            int maxTaps = g.KernelHeight * g.KernelWidth, outSize = g.OutputPixels * k;
            Span<int> pixels = maxTaps <= 64 ? stackalloc int[maxTaps] : new int[maxTaps];
            Span<int> taps = maxTaps <= 64 ? stackalloc int[maxTaps] : new int[maxTaps];
            Span<int> tapOffsets = maxTaps <= 64 ? stackalloc int[maxTaps] : new int[maxTaps];
            for (int kh = 0; kh < g.KernelHeight; kh++)
                for (int kw = 0; kw < g.KernelWidth; kw++)
                    tapOffsets[kh * g.KernelWidth + kw] = kh * g.DilationHeight * g.Width + kw * g.DilationWidth;
            ResetTaps(taps);
            float* w = (float*)W;
            float* y = (float*)Y + (long)n * outSize;
            if (_forward)
            {
                for (int oh = 0; oh < g.OutputHeight; oh++)
                    for (int ow = 0; ow < g.OutputWidth; ow++)
                    {
                        int count = Taps(g, oh, ow, pixels, taps, tapOffsets);
                        ReadOnlySpan<int> p = pixels[..count], t = taps[..count];
                        float* yo = y + (long)(oh * g.OutputWidth + ow) * k, b = (float*)B;
                        int ch = 0;
                        if (Vector512.IsHardwareAccelerated)
                        {
                            for (; ch + 64 <= k; ch += 64) ForwardBlock4<Lanes512>(x, w, b, yo, k, ch, p, t);
                            for (; ch + 16 <= k; ch += 16) ForwardBlock<Lanes512>(x, w, b, yo, k, ch, p, t);
                        }
                        if (Vector256.IsHardwareAccelerated)
                        {
                            for (; ch + 32 <= k; ch += 32) ForwardBlock4<Lanes256>(x, w, b, yo, k, ch, p, t);
                            for (; ch + 8 <= k; ch += 8) ForwardBlock<Lanes256>(x, w, b, yo, k, ch, p, t);
                        }
                        for (; ch < k; ch++) ForwardBlock<Lanes1>(x, w, b, yo, k, ch, p, t);
                        if (count < maxTaps) // an edge pixel rewrote taps: the next interior one expects 0, 1, 2, ...
                            ResetTaps(taps);
                    }
                return;
            }
            float* dW = WantParameters ? (float*)PartialSums + (long)n * (maxTaps + 1) * k : null; // this image's [dW; db]
            float* db = dW == null ? null : dW + (long)maxTaps * k;
            float* dX = null;
            int c = g.Channels, m = _multiplier;
            float[]? expandedGrad = t_expandedGrad;
            fixed (float* dxe = expandedGrad)
            {
                if (WantInput)
                {
                    dX = m == 1 ? (float*)DX + (long)n * g.InputImageSize : dxe;
                    if (m > 1)
                        new Span<float>(dxe, g.Height * g.Width * k).Clear();
                }
                if (dW != null)
                    new Span<float>(dW, (maxTaps + 1) * k).Clear();
                for (int oh = 0; oh < g.OutputHeight; oh++)
                    for (int ow = 0; ow < g.OutputWidth; ow++)
                    {
                        int count = Taps(g, oh, ow, pixels, taps, tapOffsets);
                        ReadOnlySpan<int> p = pixels[..count], t = taps[..count];
                        float* dy = y + (long)(oh * g.OutputWidth + ow) * k;
                        int ch = 0;
                        if (Vector512.IsHardwareAccelerated)
                            for (; ch + 16 <= k; ch += 16) BackwardBlock<Lanes512>(x, w, dy, dW, db, dX, k, ch, p, t);
                        if (Vector256.IsHardwareAccelerated)
                            for (; ch + 8 <= k; ch += 8) BackwardBlock<Lanes256>(x, w, dy, dW, db, dX, k, ch, p, t);
                        for (; ch < k; ch++) BackwardBlock<Lanes1>(x, w, dy, dW, db, dX, k, ch, p, t);
                        if (count < maxTaps) // an edge pixel rewrote taps: the next interior one expects 0, 1, 2, ...
                            ResetTaps(taps);
                    }
                if (WantInput && m > 1) // dX[p, c] += Σ_m dXe[p, c·M + m]
                {
                    float* target = (float*)DX + (long)n * g.InputImageSize;
                    for (int q = 0; q < g.Height * g.Width * c; q++)
                    {
                        float sum = 0f;
                        for (int j = 0; j < m; j++)
                            sum += dxe[(long)q * m + j];
                        target[q] += sum;
                    }
                }
            }
        }
    }
}
