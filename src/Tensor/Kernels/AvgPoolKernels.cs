using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// 2-D average pooling over NHWC images with Keras's rule at the edges: a "same" window that overhangs
/// the image averages the pixels inside it only (the padding is not counted, ONNX's count_include_pad = 0).
/// </summary>
/// <remarks>
/// Shape legend: x and dX are N×H×W×C, y and dY are N×OH×OW×C. Forward: y[o] = (Σ x over the window's
/// pixels inside the image) / count(o). Backward: dX[i] += dY[o] / count(o) for every window o that covers
/// pixel i. Channels are innermost, so every step adds or scales a whole run of C values
/// (<see cref="TensorPrimitives"/>). Images are independent: the batch is split across threads image by
/// image and each image's sums keep their order, so results are the same at any thread count.
/// </remarks>
public static unsafe class AvgPoolKernels
{
    /// <summary>y = the mean of each window's pixels inside the image, per channel.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, in ConvGeometry g)
    {
        fixed (float* px = x, py = y)
        {
            var job = AvgPoolJob.Rent(g, forward: true);
            (job.Input, job.Output) = ((nint)px, (nint)py);
            job.Run(batch);
        }
    }

    /// <summary>dX += each window's dY / count spread over its pixels inside the image.</summary>
    public static void Backward(ReadOnlySpan<float> dY, Span<float> dX, int batch, in ConvGeometry g)
    {
        fixed (float* pdy = dY, pdx = dX)
        {
            var job = AvgPoolJob.Rent(g, forward: false);
            (job.Input, job.Output) = ((nint)pdx, (nint)pdy);
            job.Run(batch);
        }
    }

    /// <summary>The window of output pixel (oh, ow), clipped to the image: rows h0..h1−1, columns w0..w1−1.</summary>
    private static (int H0, int H1, int W0, int W1) Window(in ConvGeometry g, int oh, int ow)
    {
        int top = oh * g.StrideHeight - g.PadTop, left = ow * g.StrideWidth - g.PadLeft;
        return (Math.Max(0, top), Math.Min(g.Height, top + g.KernelHeight), Math.Max(0, left), Math.Min(g.Width, left + g.KernelWidth));
    }

    /// <summary>Forward for one image.</summary>
    public static void ForwardImage(ReadOnlySpan<float> x, Span<float> y, in ConvGeometry g)
    {
        int c = g.Channels;
        for (int oh = 0; oh < g.OutputHeight; oh++)
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                var (h0, h1, w0, w1) = Window(g, oh, ow);
                Span<float> sum = y.Slice((oh * g.OutputWidth + ow) * c, c);
                x.Slice((h0 * g.Width + w0) * c, c).CopyTo(sum);
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++)
                        TensorPrimitives.Add(sum, x.Slice((ih * g.Width + iw) * c, c), sum);
                TensorPrimitives.Multiply(sum, 1f / ((h1 - h0) * (w1 - w0)), sum);
            }
    }

    /// <summary>Backward for one image.</summary>
    public static void BackwardImage(ReadOnlySpan<float> dY, Span<float> dX, in ConvGeometry g)
    {
        int c = g.Channels;
        for (int oh = 0; oh < g.OutputHeight; oh++)
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                var (h0, h1, w0, w1) = Window(g, oh, ow);
                ReadOnlySpan<float> upstream = dY.Slice((oh * g.OutputWidth + ow) * c, c);
                float share = 1f / ((h1 - h0) * (w1 - w0));
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                    {
                        Span<float> target = dX.Slice((ih * g.Width + iw) * c, c);
                        TensorPrimitives.MultiplyAdd(upstream, share, target, target);
                    }
            }
    }

    private sealed class AvgPoolJob : ImageJob
    {
        [ThreadStatic] private static AvgPoolJob? t_cached;
        private ConvGeometry _g;
        private bool _forward;

        /// <summary>x (forward) or dX (backward).</summary>
        public nint Input;

        /// <summary>y (forward) or dY (backward).</summary>
        public nint Output;

        public static AvgPoolJob Rent(in ConvGeometry g, bool forward)
        {
            AvgPoolJob job = t_cached ??= new AvgPoolJob();
            (job._g, job._forward) = (g, forward);
            return job;
        }

        protected override void RunImage(int n)
        {
            int inSize = _g.InputImageSize, outSize = _g.OutputPixels * _g.Channels;
            var input = new Span<float>((float*)Input + (long)n * inSize, inSize);
            var output = new Span<float>((float*)Output + (long)n * outSize, outSize);
            if (_forward)
                ForwardImage(input, output, _g);
            else
                BackwardImage(output, input, _g);
        }
    }
}
