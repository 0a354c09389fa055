using BenchmarkDotNet.Attributes;
using NanoNet.Autograd;
using NanoNet.Memory;

namespace NanoNet.Benchmarks;

/// <summary>
/// The recurrent ops at a realistic shape — batch 32, 100 steps, 128 inputs → 64 or 128 units, Keras' imdb
/// examples' sizes — forward alone and forward + backward (into x, W, R and b), with GFLOP/s of the GEMM work:
/// 2·T·N·gates·U·(D + U) forward (gates 4 LSTM, 3 GRU, 1 SimpleRNN; twice for Bidirectional), three times that with
/// backward (dh per step, then dW, dR and dX). NANONET_RECURRENT_STEPS sets another T (at T = 200 the gradient decays
/// into the subnormal floats without <c>TinyFloats</c>).
/// </summary>
/// <remarks>Run with the FMA peak in the same process: <c>dotnet run -c Release --project benchmarks -- recurrent</c>.</remarks>
public class RecurrentBenchmarks : IFlopCounted
{
    private const int Batch = 32, Inputs = 128;
    internal static readonly int Steps = int.Parse(Environment.GetEnvironmentVariable("NANONET_RECURRENT_STEPS") ?? "100");

    [Params("lstm", "gru", "simple_rnn", "bidirectional_lstm")]
    public string Kind { get; set; } = "lstm";

    [Params(64, 128)]
    public int Units { get; set; } = 64;

    [Params(false, true)]
    public bool Backward { get; set; }

    private Tensor _x = null!, _w = null!, _r = null!, _b = null!, _w2 = null!, _r2 = null!, _b2 = null!, _dY = null!;
    private readonly StepMemory _memory = new();

    private int Gates => Kind switch { "gru" => 3, "simple_rnn" => 1, _ => 4 };

    public double FlopsPerCall =>
        2.0 * Steps * Batch * Gates * Units * (Inputs + Units) * (Kind == "bidirectional_lstm" ? 2 : 1) * (Backward ? 3 : 1);

    [GlobalSetup]
    public void Setup()
    {
        int g = Gates * Units;
        _x = Tensor.RandomUniform([Batch, Steps, Inputs], -1, 1, 1).AsParameter();
        _w = Tensor.RandomUniform([Inputs, g], -0.1f, 0.1f, 2).AsParameter();
        _r = Tensor.RandomUniform([Units, g], -0.1f, 0.1f, 3).AsParameter();
        _b = Tensor.Zeros(Kind == "gru" ? [2, g] : [g]).AsParameter();
        _w2 = Tensor.RandomUniform([Inputs, g], -0.1f, 0.1f, 4).AsParameter();
        _r2 = Tensor.RandomUniform([Units, g], -0.1f, 0.1f, 5).AsParameter();
        _b2 = Tensor.Zeros(g).AsParameter();
        _dY = Tensor.RandomUniform([Batch, Kind == "bidirectional_lstm" ? 2 * Units : Units], -1, 1, 6);
    }

    [Benchmark(Description = "recurrent op (32x100, 128->U)")]
    public float Run()
    {
        _memory.Release();
        using (_memory.Use())
        {
            if (!Backward)
                using (Tape.NoGrad())
                    return Forward()[0];
            Ops.Sum(Ops.Multiply(Forward(), _dY)).Backward();
            return _w.Grad![0];
        }
    }

    private Tensor Forward() => Kind switch
    {
        "gru" => Ops.Gru(_x, _w, _r, _b),
        "simple_rnn" => Ops.SimpleRnn(_x, _w, _r, _b),
        "bidirectional_lstm" => Ops.Concat([Ops.Lstm(_x, _w, _r, _b), Ops.Lstm(_x, _w2, _r2, _b2, goBackwards: true)], -1),
        _ => Ops.Lstm(_x, _w, _r, _b),
    };
}

/// <summary>A quick Stopwatch pass over <see cref="RecurrentBenchmarks"/>' cases (best of N), for a contended machine.</summary>
public static class RecurrentTiming
{
    public static void Run(int repeats, int threads)
    {
        if (threads > 0)
            Parallelism.MaxThreads = threads;
        int workers = Parallelism.CurrentMaxThreads;
        double peak = NanoNet.Diagnostics.FmaPeak.MeasureGflops(1) * workers;
        Console.WriteLine($"{workers} thread(s); FMA peak probed {peak / workers:F1} GFLOP/s per core, {peak:F1} for the threads");
        Console.WriteLine($"{$"32x{RecurrentBenchmarks.Steps}, 128->U",-22}{"units",6}{"pass",18}{"ms",10}{"GFLOP/s",10}{"% peak",8}");
        foreach (string kind in new[] { "lstm", "gru", "simple_rnn", "bidirectional_lstm" })
            foreach (int units in new[] { 64, 128 })
                foreach (bool backward in new[] { false, true })
                {
                    var benchmark = new RecurrentBenchmarks { Kind = kind, Units = units, Backward = backward };
                    benchmark.Setup();
                    // Warm-up: pools, and the JIT's tiers (two calls left the first case of each kind timing unoptimized
                    // code): at least 1 s, then until the JIT is quiet (SteadyState).
                    SteadyState.WarmUp(() => benchmark.Run(), minCalls: 3, minSeconds: 1);
                    // NANONET_RECURRENT_CHUNKS=1000,0: the backward's chunk of steps switched call by call (see SeedCases),
                    // the best time of each setting on its own line.
                    int[] chunks = Environment.GetEnvironmentVariable("NANONET_RECURRENT_CHUNKS")?.Split(',').Select(int.Parse).ToArray() ?? [0];
                    double[] best = [.. chunks.Select(_ => double.MaxValue)];
                    for (int i = 0; i < repeats * chunks.Length; i++)
                    {
                        NanoNet.Kernels.RecurrentStepJob.ChunkStepsOverride = chunks[i % chunks.Length];
                        long start = System.Diagnostics.Stopwatch.GetTimestamp();
                        benchmark.Run();
                        best[i % chunks.Length] = Math.Min(best[i % chunks.Length], System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                    NanoNet.Kernels.RecurrentStepJob.ChunkStepsOverride = 0;
                    for (int v = 0; v < chunks.Length; v++)
                        Console.WriteLine($"{kind,-22}{units,6}{(backward ? "forward+backward" : "forward"),18}{best[v],10:F2}{benchmark.FlopsPerCall / best[v] / 1e6,10:F1}"
                            + $"{100 * benchmark.FlopsPerCall / best[v] / 1e6 / peak,7:F0}%" + (chunks.Length > 1 ? $"  (chunk {chunks[v]})" : ""));
                }
    }
}
