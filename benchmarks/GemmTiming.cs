using System.Diagnostics;
using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet.Benchmarks;

/// <summary>
/// A quick Stopwatch timing of the GEMM at the CIFAR-10 seed model's shapes with the kernel this
/// process selected (so it can be compared across <c>DOTNET_EnableAVX512F=0</c> / <c>DOTNET_EnableAVX=0</c>
/// runs of the same binary); BenchmarkDotNet's <c>gemm</c> command is the careful version. A narrow product (N &lt; 32,
/// <see cref="GemmNarrow"/>) is also timed on the packed path it replaces, call by call in turns, on a line of its own.
/// </summary>
public static class GemmTiming
{
    /// <summary>The shapes timed: the seed models' products (the Dense ones are also <see cref="GemmSplit"/>'s).</summary>
    internal static readonly (string Name, int M, int N, int K, bool TransA, bool TransB)[] Shapes =
    [
        ("conv1 fwd: im2col 57600x32x28", 57600, 32, 28, false, false),
        ("dense1 fwd: 64x128x7200", 64, 128, 7200, false, false),
        ("dense1 dW: 7200x128x64, A^T", 7200, 128, 64, true, false),
        ("dense1 dX: 64x7200x128, B^T", 64, 7200, 128, false, true),
        ("keras dense fwd: 32x512x2304", 32, 512, 2304, false, false),
        ("keras dense dW: 2304x512x32, A^T", 2304, 512, 32, true, false),
        ("keras dense dX: 32x2304x512, B^T", 32, 2304, 512, false, true),
        ("square 512", 512, 512, 512, false, false),
        ("lstm proj: 6400x512x128", 6400, 512, 128, false, false),
        ("lstm dW, dR: 128x512x6400, A^T", 128, 512, 6400, true, false),
        ("lstm chunk dW: 128x512x1024, A^T", 128, 512, 1024, true, false),
        ("96x512x1024, A^T", 96, 512, 1024, true, false),
        ("lstm dX: 6400x128x512", 6400, 128, 512, false, false),
        ("ids dW = E^T S: 128x512x1564, A^T", 128, 512, 1564, true, false),
        ("ids dRows = S W^T: 1564x128x512, B^T", 1564, 128, 512, false, true),
        ("keras out fwd: 32x10x512", 32, 10, 512, false, false),
        ("keras out dW: 512x10x32, A^T", 512, 10, 32, true, false),
        ("keras out dX: 32x512x10, B^T", 32, 512, 10, false, true),
        ("cifar out fwd: 64x10x128", 64, 10, 128, false, false),
        ("cifar out dW: 128x10x64, A^T", 128, 10, 64, true, false),
        ("imdb out fwd: 32x2x128", 32, 2, 128, false, false),
    ];

    /// <summary>
    /// Best (minimum) and median time of <paramref name="repeats"/> calls per shape at <paramref name="threads"/> threads.
    /// <paramref name="cold"/>: before each call, stream through 64 MB so A, B and C come from memory, as in a
    /// training step where the other layers evict them (the warm figures hold all three in L2/L3).
    /// </summary>
    public static void Run(int repeats, int threads = 1, bool cold = false)
    {
        Parallelism.MaxThreads = threads;
        (int mr, int nr) = GemmMicroKernels.TileSize(Gemm.BestKernel);
        float[] evict = cold ? new float[16 << 20] : [];
        Console.WriteLine($"GEMM kernel {Gemm.BestKernel} ({mr}x{nr}), {threads} thread(s), {(cold ? "cold caches" : "warm caches")}, best and median of {repeats}");
        Console.WriteLine($"{"shape",-34}{"ms",10}{"GFLOP/s",10}{"median",10}{"GFLOP/s",10}");
        foreach (var (name, m, n, k, transA, transB) in Shapes)
        {
            var rng = new Random(1);
            // Each operand starts on a cache line, as a tensor does (Tensor.OnCacheLine): a panel read in place then
            // spans whole lines.
            (float[] a, int aAt) = OnCacheLine(m * k);
            (float[] b, int bAt) = OnCacheLine(k * n);
            (float[] c, int cAt) = OnCacheLine(m * n);
            for (int i = 0; i < m * k; i++) a[aAt + i] = rng.NextSingle() - 0.5f;
            for (int i = 0; i < k * n; i++) b[bAt + i] = rng.NextSingle() - 0.5f;
            int lda = transA ? m : k, ldb = transB ? k : n;
            void Multiply() => Gemm.Multiply(transA, transB, m, n, k, a.AsSpan(aAt, m * k), lda, b.AsSpan(bAt, k * n), ldb, c.AsSpan(cAt, m * n), n);
            // A product with a path of its own (GemmNarrow, or Cᵀ on the 6×16 kernel) is also timed on the packed path,
            // alternated call by call.
            bool narrow = GemmNarrow.Applies(Gemm.BestKernel, m, n, transB, packedB: false);
            bool transposed = Gemm.BestKernel == GemmKernelKind.Vector256 && TransposesC(m, n, k, transA, transB);
            bool alternative = narrow || transposed;
            var times = new double[repeats];
            var packedTimes = new double[repeats];
            SteadyState.WarmUp(Multiply);
            if (alternative)
                SteadyState.WarmUp(() => { TakesOwnPath(false); Multiply(); TakesOwnPath(true); });
            for (int r = 0; r < repeats; r++)
            {
                times[r] = Timed();
                if (alternative)
                {
                    TakesOwnPath(false);
                    packedTimes[r] = Timed();
                    TakesOwnPath(true);
                }
            }
            Report(name, times);
            if (alternative)
                Report("  (the same on the packed path)", packedTimes);

            void TakesOwnPath(bool on)
            {
                if (narrow)
                    GemmNarrow.Enabled = on;
                if (transposed)
                    Gemm.TransposedCMaxRows256 = on ? TransposedCRows : 0;
            }

            double Timed()
            {
                for (int i = 0; i < evict.Length; i += 16)
                    evict[i] += 1f;
                long start = Stopwatch.GetTimestamp();
                Multiply();
                return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }

            void Report(string label, double[] measured)
            {
                Array.Sort(measured);
                double best = measured[0], median = measured[repeats / 2];
                Console.WriteLine($"{label,-34}{best,10:F4}{2.0 * m * n * k / best / 1e6,10:F1}{median,10:F4}{2.0 * m * n * k / median / 1e6,10:F1}");
            }
        }
    }

    /// <summary>The rule's <see cref="Gemm.TransposedCMaxRows256"/>, restored after each packed-path call.</summary>
    private static readonly int TransposedCRows = Gemm.TransposedCMaxRows256;

    private static unsafe bool TransposesC(int m, int n, int k, bool transA, bool transB) =>
        Gemm.TransposesC(Gemm.BestKernel, transA, transB, m, n, k, null);

    /// <summary>A pinned array holding <paramref name="length"/> floats from its first cache line, and where they start.</summary>
    private static (float[] Array, int Start) OnCacheLine(int length)
    {
        float[] array = CacheLineAlignment.Pinned(null, length);
        return (array, CacheLineAlignment.Offset(array));
    }
}
