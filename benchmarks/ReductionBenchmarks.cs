using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// Sum over one axis of a (64, 128, 256) tensor, at 1 and 2 threads: the last axis (a row reduction,
/// 8192 rows of 256), the first (rows of 32768 added into one accumulator) and the middle one (64 blocks
/// of 128 rows of 256). All three read the same 8 MB, so they should take about the same time.
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*ReductionBenchmarks*'</c>.
/// </summary>
public class ReductionBenchmarks
{
    [Params(1, 2)]
    public int Threads { get; set; }

    private float[] _x = [], _y = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        var rng = new Random(1);
        _x = Enumerable.Range(0, 64 * 128 * 256).Select(_ => rng.NextSingle()).ToArray();
        _y = new float[128 * 256];
    }

    [Benchmark(Description = "Sum (64,128,256) over axis 2 (last)")]
    public void SumLastAxis() => ReduceKernels.Sum(_x, _y.AsSpan(0, 64 * 128), 64 * 128, 256, 1);

    [Benchmark(Description = "Sum (64,128,256) over axis 0 (first)")]
    public void SumFirstAxis() => ReduceKernels.Sum(_x, _y.AsSpan(0, 128 * 256), 1, 64, 128 * 256);

    [Benchmark(Description = "Sum (64,128,256) over axis 1 (middle)")]
    public void SumMiddleAxis() => ReduceKernels.Sum(_x, _y.AsSpan(0, 64 * 256), 64, 128, 256);
}

/// <summary>
/// A batch of 32 products 128×64 · 64×128 (the attention-score shape of a small transformer) against one
/// rank-2 GEMM with the same flops (4096×64 · 64×128), at 1 and 2 threads: the cost of going item by item.
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*BatchedMatMulBenchmarks*'</c>.
/// </summary>
public class BatchedMatMulBenchmarks : IFlopCounted
{
    private const int Items = 32, M = 128, K = 64, N = 128;

    [Params(1, 2)]
    public int Threads { get; set; }

    public double FlopsPerCall => 2.0 * Items * M * N * K;

    private float[] _a = [], _b = [], _c = [];
    private int[] _aItem = [], _bItem = [], _cItem = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        var rng = new Random(1);
        _a = Enumerable.Range(0, Items * M * K).Select(_ => rng.NextSingle()).ToArray();
        _b = Enumerable.Range(0, Items * K * N).Select(_ => rng.NextSingle()).ToArray();
        _c = new float[Items * M * N];
        _aItem = _bItem = _cItem = Enumerable.Range(0, Items).ToArray();
    }

    [Benchmark(Description = "batched 32 x (128x64 . 64x128)")]
    public void Batched() => BatchedGemm.MultiplyItems(false, false, M, N, K, _a, _aItem, _b, _bItem, _c, _cItem, accumulate: false);

    [Benchmark(Description = "rank-2 4096x64 . 64x128 (same flops)")]
    public void Rank2() => Gemm.Multiply(false, false, Items * M, N, K, _a, K, _b.AsSpan(0, K * N), N, _c, N);
}
