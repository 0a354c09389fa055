using System.Numerics;

namespace NanoNet.Kernels;

/// <summary>
/// 2-D max pooling over NHWC images, remembering where each maximum came from.
/// </summary>
/// <remarks>
/// Shape legend: x is N×H×W×C, y and argmax are N×OH×OW×C. argmax holds the flat index into x of the
/// element that won each window; backward routes dY there: dX[argmax[o]] += dY[o]. On ties the first
/// element in window order (row-major) wins and takes the whole gradient. Windows never read padding
/// ("same" windows that overhang the edge just see fewer elements). Channels are innermost, so one
/// window step compares a whole vector of channels at once. Images are independent, so the batch is
/// split across threads without changing any result.
/// </remarks>
public static unsafe class MaxPoolKernels
{
    /// <summary>y = max over each window, per channel; argmax = flat index into x of the winner.</summary>
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

    /// <summary>Forward for one image; indices are offset by <paramref name="imageOffset"/> (its start in x).</summary>
    public static void ForwardImage(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int imageOffset, in ConvGeometry g)
    {
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
                        var best = new Vector<float>(float.NegativeInfinity);
                        var bestIndex = Vector<int>.Zero;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                int i = (ih * g.Width + iw) * c + ch;
                                var v = new Vector<float>(x.Slice(i));
                                var greater = Vector.GreaterThan(v, best); // strict: the first maximum wins ties
                                best = Vector.ConditionalSelect(greater, v, best);
                                bestIndex = Vector.ConditionalSelect(greater, new Vector<int>(imageOffset + i) + lanes, bestIndex);
                            }
                        best.CopyTo(y.Slice(o + ch));
                        bestIndex.CopyTo(argmax.Slice(o + ch));
                    }
                }
                for (; ch < c; ch++)
                {
                    float best = float.NegativeInfinity;
                    int bestIndex = 0;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                        {
                            int i = (ih * g.Width + iw) * c + ch;
                            if (x[i] > best)
                            {
                                best = x[i];
                                bestIndex = imageOffset + i;
                            }
                        }
                    y[o + ch] = best;
                    argmax[o + ch] = bestIndex;
                }
            }
        }
    }

    private sealed class PoolJob : ParallelJob
    {
        [ThreadStatic] private static PoolJob? t_cached;
        private int _next;
        public ConvGeometry G;
        public int Batch;
        public bool IsForward;
        public nint X, Y, ArgMax;

        public static PoolJob Rent(in ConvGeometry g, int batch, bool forward)
        {
            PoolJob job = t_cached ??= new PoolJob();
            (job.G, job.Batch, job.IsForward, job._next) = (g, batch, forward, -1);
            return job;
        }

        public override void RunWorker(int worker, int workerCount)
        {
            int inSize = G.InputImageSize, outSize = G.OutputPixels * G.Channels;
            int n;
            while ((n = Interlocked.Increment(ref _next)) < Batch)
            {
                var y = new Span<float>((float*)Y + (long)n * outSize, outSize);
                var argmax = new Span<int>((int*)ArgMax + (long)n * outSize, outSize);
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
