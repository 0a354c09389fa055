using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>One GEMM problem: C (M×N) = op(A) (M×K) · op(B) (K×N).</summary>
public sealed record GemmShape(string Name, int M, int N, int K, bool TransA = false, bool TransB = false)
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => Name;
}

/// <summary>
/// GEMM throughput at 1 and 2 threads: squares 128..2048 and the multiplies of the CIFAR-10 seed model
/// (Conv2D 3→32 as im2col, Dense 7200→128) in forward and backward, and a 10-wide output layer.
/// </summary>
public class GemmBenchmarks : IFlopCounted
{
    public static IEnumerable<GemmShape> Shapes() =>
    [
        new("square 128", 128, 128, 128),
        new("square 256", 256, 256, 256),
        new("square 512", 512, 512, 512),
        new("square 1024", 1024, 1024, 1024),
        new("square 2048", 2048, 2048, 2048),
        // The CIFAR-10 seed model's multiplies (M×N×K): conv1 is im2col (57600 pixels × 28 = 3·3·3 + bias
        // column) times 32 filters; its weight gradient runs per 2-image chunk (28×32×1800, Aᵀ).
        new("conv1 fwd", 57600, 32, 28),
        new("conv1 dW chunk", 28, 32, 1800, TransA: true),
        new("dense1 fwd", 64, 128, 7200),
        new("dense1 dW", 7200, 128, 64, TransA: true),
        new("dense1 dX", 64, 7200, 128, TransB: true),
        // A classifier's 10-wide output layer (the Keras cifar10_cnn model's 512 → 10 at batch 32): GemmNarrow.
        new("out10 fwd", 32, 10, 512),
        new("out10 dW", 512, 10, 32, TransA: true),
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    private float[] _a = [], _b = [], _c = [];

    public double FlopsPerCall => Shape.Flops;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        var rng = new Random(1);
        _a = Enumerable.Range(0, Shape.M * Shape.K).Select(_ => rng.NextSingle()).ToArray();
        _b = Enumerable.Range(0, Shape.K * Shape.N).Select(_ => rng.NextSingle()).ToArray();
        _c = new float[Shape.M * Shape.N];
    }

    [Benchmark]
    public void Gemm()
    {
        GemmShape s = Shape;
        Kernels.Gemm.Multiply(s.TransA, s.TransB, s.M, s.N, s.K, _a, s.TransA ? s.M : s.K, _b, s.TransB ? s.K : s.N, _c, s.N);
    }
}
