using System.Diagnostics;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// A quick Stopwatch timing of the Conv2D kernels at the training shapes of the two CIFAR-10 models (the seed
/// model's conv at batch 64, the Keras cifar10_cnn's four convs at batch 32), each pass on its own: the forward
/// (im2col + GEMM + ReLU), the weight gradient ([dW; db] with the ReLU mask) and the input gradient (dX alone).
/// Best of N calls, in GFLOP/s and as a share of the FMA peak probed first in the same process. Where the Winograd
/// kernel runs (its chosen tile size), the same pass by F(2×2) ("F2") and by the direct kernel ("dir"; "pool dWd" for the
/// pooled weight gradient) follows, counted in the direct method's flops.
/// </summary>
public static class ConvTiming
{
    private static readonly (string Name, int Batch, int H, int W, int C, int F, bool Same)[] Shapes =
    [
        ("seed conv 32x32x3->32 valid, b64", 64, 32, 32, 3, 32, false),
        ("keras conv0 32x32x3->32 same, b32", 32, 32, 32, 3, 32, true),
        ("keras conv1 32x32x32->32 valid", 32, 32, 32, 32, 32, false),
        ("keras conv2 15x15x32->64 same", 32, 15, 15, 32, 64, true),
        ("keras conv3 15x15x64->64 valid", 32, 15, 15, 64, 64, false),
    ];

    /// <summary>
    /// Best time of <paramref name="repeats"/> calls per shape and pass at <paramref name="threads"/> threads.
    /// <paramref name="cold"/>: before each call, a 64 MB copy evicts the caches, so x, y and dY come from memory, as in a
    /// training step where the other layers' passes run between a layer's forward and its backward.
    /// </summary>
    public static void Run(int repeats, int threads, bool cold = false)
    {
        Parallelism.MaxThreads = threads;
        double peak = FmaPeak.MeasureGflops();
        var caches = new ColdCaches(cold);
        Console.WriteLine($"Conv2D kernels, {threads} thread(s), {(cold ? "cold caches" : "warm caches")}, best of {repeats}; FMA peak probed {peak:F1} GFLOP/s per core");
        Console.WriteLine($"{"shape",-36}{"pass",-8}{"ms",9}{"GFLOP/s",9}{"% peak",8}");
        foreach (var (name, batch, h, w, c, f, same) in Shapes)
        {
            var g = ConvGeometry.Create(h, w, c, 3, 3, 1, 1, same);
            var rng = new Random(1);
            float[] x = Fill(new float[batch * g.InputImageSize], rng), kernel = Fill(new float[g.PatchSize * f], rng);
            float[] bias = new float[f], y = new float[batch * g.OutputPixels * f], dY = Fill(new float[y.Length], rng);
            float[] dW = new float[kernel.Length], dB = new float[f], dX = new float[x.Length], dYWork = new float[dY.Length];
            Conv2DKernels.Forward(x, kernel, bias, y, batch, f, g, relu: true);
            double rowFlops = 2.0 * batch * g.OutputPixels * f;
            Time("fwd", rowFlops * (g.PatchSize + 1), () => Conv2DKernels.Forward(x, kernel, bias, y, batch, f, g, relu: true));
            if (WinogradConv.Applies(g, f)) // the same pass by F(2×2) and by the direct kernel (the GFLOP/s count the direct method's FMAs)
            {
                Time("fwd F2", rowFlops * (g.PatchSize + 1), () => WithTile(2, () => Conv2DKernels.Forward(x, kernel, bias, y, batch, f, g, relu: true)));
                Time("fwd dir", rowFlops * (g.PatchSize + 1), () => WithoutWinograd(() => Conv2DKernels.Forward(x, kernel, bias, y, batch, f, g, relu: true)));
            }
            // The backward masks dY in place: each call gets a fresh copy, made outside the timed region.
            Time("dW", rowFlops * (g.PatchSize + 1), () => Conv2DKernels.Backward(x, kernel, y, dYWork, dW, dB, default, batch, f, g, relu: true));
            if (Conv2DKernels.KeepsReluBits(g, f)) // a stem in training: the forward keeps the ReLU's bits, the weight gradient masks dY by them in registers
            {
                int[] bits = new int[ReluBits.Length((long)batch * g.OutputPixels, f)];
                Time("fwd bits", rowFlops * (g.PatchSize + 1), () => Conv2DKernels.Forward(x, kernel, bias, y, batch, f, g, relu: true, bits));
                Time("dW bits", rowFlops * (g.PatchSize + 1),
                    () => Conv2DKernels.Backward(x, kernel, y, dYWork, dW, dB, default, batch, f, g, relu: true, reluBits: bits));
            }
            if (WinogradWeightGradient.Applies(g, f)) // the direct weight gradient beside F(3×3, 4×4)
                Time("dW dir", rowFlops * (g.PatchSize + 1),
                    () => WithoutWinogradWeights(() => Conv2DKernels.Backward(x, kernel, y, dYWork, dW, dB, default, batch, f, g, relu: true)));
            Time("dX", rowFlops * g.PatchSize, () => Conv2DKernels.Backward(x, kernel, y, dYWork, default, default, dX, batch, f, g, relu: true));
            if (WinogradConv.InputGradientApplies(g, f))
            {
                Time("dX F2", rowFlops * g.PatchSize, () => WithTile(2, () => Conv2DKernels.Backward(x, kernel, y, dYWork, default, default, dX, batch, f, g, relu: true)));
                Time("dX dir", rowFlops * g.PatchSize, () => WithoutWinograd(() => Conv2DKernels.Backward(x, kernel, y, dYWork, default, default, dX, batch, f, g, relu: true)));
            }
            if (!same) // the fused Conv2D + MaxPool2D backward (dW, db; no dX) of the valid layers (all three pool), and the direct tiles alone
            {
                var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, f, 2, 2, 2, 2, false);
                float[] pooled = new float[batch * pool.OutputPixels * f], pooledDY = Fill(new float[pooled.Length], rng);
                int[] argmax = new int[pooled.Length];
                Conv2DKernels.ForwardMaxPool(x, kernel, bias, pooled, argmax, batch, f, g, relu: true, pool);
                Time("pool fw", rowFlops * (g.PatchSize + 1), () => Conv2DKernels.ForwardMaxPool(x, kernel, bias, pooled, argmax, batch, f, g, relu: true, pool));
                if (DirectConvForward256.Applies(g, f) && !WinogradConv.Applies(g, f)) // the AVX2 stem: its windows pooled from a row pair in L1 instead of in registers
                    Time("pool rp", rowFlops * (g.PatchSize + 1),
                        () => WithRowPair(() => Conv2DKernels.ForwardMaxPool(x, kernel, bias, pooled, argmax, batch, f, g, relu: true, pool)));
                if (WinogradConv.Applies(g, f))
                {
                    Time("pool F2", rowFlops * (g.PatchSize + 1),
                        () => WithTile(2, () => Conv2DKernels.ForwardMaxPool(x, kernel, bias, pooled, argmax, batch, f, g, relu: true, pool)));
                    Time("pool dir", rowFlops * (g.PatchSize + 1),
                        () => WithoutWinograd(() => Conv2DKernels.ForwardMaxPool(x, kernel, bias, pooled, argmax, batch, f, g, relu: true, pool)));
                }
                Time("pool dW", rowFlops * (g.PatchSize + 1),
                    () => Conv2DKernels.BackwardMaxPool(x, kernel, argmax, pooledDY, dW, dB, default, batch, f, g, pool));
                if (WinogradWeightGradient.Applies(g, f))
                    Time("pool dWd", rowFlops * (g.PatchSize + 1),
                        () => WithoutWinogradWeights(() => Conv2DKernels.BackwardMaxPool(x, kernel, argmax, pooledDY, dW, dB, default, batch, f, g, pool)));
                if (DirectConv.Applies(g, f))
                {
                    // Chunks of two images, each against the same L2-resident dZ of two images (as after the unpooling).
                    float[] chunkDZ = Fill(new float[2 * g.OutputPixels * f], rng), result = new float[(g.PatchSize + 1) * f];
                    Time("dW tile", rowFlops * (g.PatchSize + 1), () => DirectTiles(x, chunkDZ, result, batch, f, g));
                }
            }

            void Time(string pass, double flops, Action run)
            {
                double best = double.MaxValue;
                SteadyState.WarmUp(() =>
                {
                    dY.CopyTo(dYWork);
                    run();
                }, minCalls: 10);
                for (int r = 0; r < repeats; r++)
                {
                    dY.CopyTo(dYWork);
                    caches.Evict();
                    long start = Stopwatch.GetTimestamp();
                    run();
                    best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                double gflops = flops / best / 1e6;
                Console.WriteLine($"{name,-36}{pass,-8}{best,9:F3}{gflops,9:F1}{100 * gflops / (peak * threads),7:F0}%");
            }
        }
    }

    private static unsafe void DirectTiles(float[] x, float[] chunkDZ, float[] result, int batch, int filters, in ConvGeometry g)
    {
        fixed (float* px = x, pdz = chunkDZ, pr = result)
            for (int first = 0; first < batch; first += 2)
                DirectConvWeightGradient.Compute(DirectConv.Prepare(px + (long)first * g.InputImageSize, 2, g, null), 2, g, pdz, filters, pr);
    }

    private static void WithTile(int tile, Action run)
    {
        WinogradConv.ForcedTile = tile;
        try { run(); }
        finally { WinogradConv.ForcedTile = 0; }
    }

    private static void WithoutWinogradWeights(Action run)
    {
        WinogradWeightGradient.Enabled = false;
        try { run(); }
        finally { WinogradWeightGradient.Enabled = true; }
    }

    private static void WithRowPair(Action run)
    {
        DirectConvForward256.PoolsInRegisters = false;
        try { run(); }
        finally { DirectConvForward256.PoolsInRegisters = true; }
    }

    private static void WithoutWinograd(Action run)
    {
        WinogradConv.Enabled = false;
        try { run(); }
        finally { WinogradConv.Enabled = true; }
    }

    private static float[] Fill(float[] values, Random rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextSingle() - 0.5f;
        return values;
    }
}
