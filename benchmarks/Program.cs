using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using NanoNet.Benchmarks;

// Kernel benchmarks (BenchmarkDotNet):
//   dotnet run -c Release --project benchmarks -- gemm          GEMM at 1 and 2 threads vs the FMA peak
//   dotnet run -c Release --project benchmarks -- --filter '*Conv*'   (or any BenchmarkDotNet arguments)
//   dotnet run -c Release --project benchmarks -- --filter '*WinogradBenchmarks*'   (the Keras 3×3 layers' passes, Winograd against direct)
// End-to-end training throughput (Stopwatch, median of repeated steps):
//   dotnet run -c Release --project benchmarks -- throughput [--json] [--steps N] [--threads 1 2] [cifar10 text]
// LSTM op at the IMDB seed shapes (Stopwatch, median; BenchmarkDotNet: --filter '*Lstm*'):
//   dotnet run -c Release --project benchmarks -- lstm [repeats]
// Conv1D / DepthwiseConv2D (GFLOP/s vs the FMA peak, ShortRun) and the 1-D max / 2-D average poolings:
//   dotnet run -c Release --project benchmarks -- conv
//   dotnet run -c Release --project benchmarks -- --filter '*PoolingBenchmarks*' --job short
// Activations, Softmax(axis), Dropout, Embedding, global pooling, ZeroPadding2D, RepeatVector, and every loss (GB/s, ShortRun):
//   dotnet run -c Release --project benchmarks -- --filter '*ElementwiseLayerBenchmarks*' '*LossBenchmarks*' --job short --warmupCount 15 --iterationCount 5 --iterationTime 100
// UpSampling2D nearest and bilinear, forward and backward, GB/s:
//   dotnet run -c Release --project benchmarks -- --filter '*UpSamplingBenchmarks*' --job short
// LSTM, GRU, SimpleRNN, Bidirectional(LSTM) at batch 32, 100 steps, 128 -> 64/128 units, forward and + backward, GFLOP/s:
//   dotnet run -c Release --project benchmarks -- recurrent [BenchmarkDotNet arguments, e.g. --job short]
//   dotnet run -c Release --project benchmarks -- recurrent-time [repeats] [threads]   (Stopwatch, best of N, all cases in ms and % of the FMA peak; NANONET_RECURRENT_STEPS=200 for T)
// GEMM at the CIFAR-10 shapes with the kernel this process picked (Stopwatch, best of N, 1 thread):
//   dotnet run -c Release --project benchmarks -- gemm-time [repeats] [threads] [cold]      (try DOTNET_EnableAVX=0)
//   dotnet run -c Release --project benchmarks -- subnormal-time   (optimizer steps over a table whose states decayed 1,000 steps)
//   dotnet run -c Release --project benchmarks -- step-gemm-time [repeats]   (the LSTM backward's per-step [dh | dX] and dh products, 200 steps in a row, 1 thread)
//   dotnet run -c Release --project benchmarks -- exp-time   (the recurrent cells' e^x against .NET's vector Exp, ns per 16 lanes)
//   dotnet run -c Release --project benchmarks -- lstm-step-time [steps]   (one fused LSTM step on embedded ids, with and without its cell, and the cell alone, against the FMA floor; then 200 steps on 1 thread and on 2 private bands)
//   dotnet run -c Release --project benchmarks -- kernel-time [repeats]   (the 8x32 micro-kernel alone on cached panels, by KC and MC)
//   dotnet run -c Release --project benchmarks -- gemm-split <repeats> <nc> [cold]   (packing vs micro-kernel time, Dense shapes)
// Conv2D forward, weight gradient and input gradient at the two CIFAR-10 models' shapes (Stopwatch, best of N, % of the probed peak):
//   dotnet run -c Release --project benchmarks -- conv-time [repeats] [threads] [cold]
// The narrow output Dense layers as ops (forward, backward) against their GEMMs alone, warm or cold:
//   dotnet run -c Release --project benchmarks -- dense-op-time [repeats] [cold]
//   dotnet run -c Release --project benchmarks -- dropout-time [repeats]   (Dropout's mask and forward as in a step, against the bandwidth)
//   dotnet run -c Release --project benchmarks -- fma-scaling [rounds]   (the FMA probe on 1 thread, then 2 at once: what 2 threads can give)
//   dotnet run -c Release --project benchmarks -- vcpu-fma [rounds]   (the FMA probe on one thread pinned to each CPU in turn: a slowed vCPU)
//   dotnet run -c Release --project benchmarks -- gemm-scaling [rounds]  (the LSTM chunk's weight-gradient GEMM, 1 worker, then 2 at once on private operands)
//   dotnet run -c Release --project benchmarks -- core-to-core [kilobytes] [repeats]  (a cache line's round trip between two threads; a block read after the other core wrote it)
// The IMDB model's embedding gather and scatter, SGD's touched-row update and the clearing, cold caches, against the memory bandwidth:
//   dotnet run -c Release --project benchmarks -- embedding-time [repeats] [threads]
//   dotnet run -c Release --project benchmarks -- distinct-ids-time [vocabulary]   (numbering a batch's distinct ids, cold caches)
// NanoNet against LibTorch 2.10, alternating sides per case (builds the peer too; see benchmarks/README.md):
//   bash benchmarks/compare-libtorch.sh [--rounds 3] [--threads 1 2] [--steps 40] [case ...]
//   dotnet run -c Release --project benchmarks -- case <case> <threads> <warmup> <steps>   one side of one case
//     (NANONET_RECURRENT_CHUNKS=1000,0: the recurrent backward in one chunk and in cache-sized chunks, alternated step by step;
//      recurrent-time takes it too; NANONET_THREADS_SWITCH=1,2: the thread count switched step by step, a median each;
//      NANONET_GEMM_PREFETCH=one,all: the GEMM's prefetch plan on one worker only or on every worker, the same way;
//      NANONET_GEMM_WHOLE_K=slabs,whole: single-panel products (the Keras Dense dX) in KC slabs or K whole, the same way;
//      NANONET_GEMM_IN_PLACE_B=plain,ahead,packed: tiles reading a B panel in place (Dense forwards) ask for its rows ahead or not,
//      or the skinny products' big operands are packed, the same way;
//      NANONET_GEMM_TRANSPOSED_C=on,off: the Keras Dense dX as Cᵀ on the 6×16 kernel (AVX2) or packed, the same way)
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithId("nanonet"))
    .AddColumn(GflopsColumn.Gflops, GflopsColumn.PercentOfPeak, BandwidthColumn.Instance)
    .WithOptions(ConfigOptions.JoinSummary);

if (args.Length > 0 && args[0] == "throughput")
{
    // throughput [--json] [--steps N] [--threads 1 2] [model ...]
    bool json = args.Contains("--json");
    int steps = 100;
    int[] threads = [1, 2];
    var models = new List<string>();
    for (int i = 1; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--json": break;
            case "--steps": steps = int.Parse(args[++i]); break;
            case "--threads":
                var counts = new List<int>();
                while (i + 1 < args.Length && int.TryParse(args[i + 1], out int t)) { counts.Add(t); i++; }
                threads = [.. counts];
                break;
            default: models.Add(args[i]); break;
        }
    }
    var results = Throughput.Run(models.Count > 0 ? models : Throughput.Models, threads, steps);
    if (json) Throughput.PrintJson(results); else Throughput.PrintTable(results);
    return 0;
}
if (args.Length > 0 && args[0] == "compare-libtorch")
    return SideBySide.Run(args);
if (args is ["case", string name, string caseThreads, string warmup, string caseSteps])
{
    Console.WriteLine(SeedCases.Run(name, int.Parse(caseThreads), int.Parse(warmup), int.Parse(caseSteps)));
    return 0;
}
if (args.Length > 0 && args[0] == "lstm")
{
    // lstm [repeats] [two-pass]: "two-pass" runs the LSTM step without the fused cell (LstmFusedStep) on an AVX-512 machine.
    LstmTiming.Run([1, 2], args.Length > 1 ? int.Parse(args[1]) : 10, fused: args.Length <= 2 || args[2] != "two-pass");
    return 0;
}
if (args.Length > 0 && args[0] == "gemm-split")
{
    // gemm-split <repeats> <nc> [cold]: packing vs micro-kernel time of the Dense shapes (GemmSplit).
    GemmSplit.Run(int.Parse(args[1]), args.Contains("cold"), int.Parse(args[2]));
    return 0;
}
if (args.Length > 0 && args[0] == "gemm-time")
{
    GemmTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 20, args.Length > 2 ? int.Parse(args[2]) : 1, args.Contains("cold"));
    return 0;
}
if (args.Length > 0 && args[0] == "subnormal-time")
{
    SubnormalTiming.Run();
    return 0;
}
if (args.Length > 0 && args[0] == "dropout-time")
{
    DropoutTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 100);
    return 0;
}
if (args.Length > 0 && args[0] == "step-gemm-time")
{
    StepGemmTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 10);
    return 0;
}
if (args.Length > 0 && args[0] == "lstm-step-time")
{
    LstmStepTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 20000);
    return 0;
}
if (args.Length > 0 && args[0] == "exp-time")
{
    ExpTiming.Run();
    return 0;
}
if (args.Length > 0 && args[0] == "kernel-time")
{
    KernelTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 5);
    return 0;
}
if (args.Length > 0 && args[0] == "fma-scaling")
{
    // fma-scaling [rounds]: the FMA probe on one thread, then on two at once, alternately (what the machine gives 2 threads).
    int rounds = args.Length > 1 ? int.Parse(args[1]) : 10;
    Console.WriteLine($"{"round",6}{"1 thread",12}{"2 threads",12}{"ratio",8}   (GFLOP/s, best of 8 probes each)");
    for (int r = 0; r < rounds; r++)
    {
        double one = NanoNet.Diagnostics.FmaPeak.MeasureGflops(1), two = NanoNet.Diagnostics.FmaPeak.MeasureGflops(2);
        Console.WriteLine($"{r,6}{one,12:F1}{two,12:F1}{two / one,8:F2}");
    }
    return 0;
}
if (args.Length > 0 && args[0] == "vcpu-fma")
{
    // vcpu-fma [rounds]: the FMA probe on one thread pinned to each CPU in turn (a vCPU the host slows down shows here).
    VcpuProbe.Run(args.Length > 1 ? int.Parse(args[1]) : 5);
    return 0;
}
if (args.Length > 0 && args[0] == "gemm-scaling")
{
    GemmScaling.Run(args.Length > 1 ? int.Parse(args[1]) : 10);
    return 0;
}
if (args.Length > 0 && args[0] == "core-to-core")
{
    CoreToCore.Run(args.Length > 1 ? int.Parse(args[1]) : 1024, args.Length > 2 ? int.Parse(args[2]) : 50);
    return 0;
}
if (args.Length > 0 && args[0] == "distinct-ids-time")
{
    DistinctIdsTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 20_000);
    return 0;
}
if (args.Length > 0 && args[0] == "embedding-time")
{
    EmbeddingTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 30, args.Length > 2 ? int.Parse(args[2]) : 1);
    return 0;
}
if (args.Length > 0 && args[0] == "dense-op-time")
{
    DenseOpTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 2000, args.Contains("cold"));
    return 0;
}
if (args.Length > 0 && args[0] == "conv-time")
{
    ConvTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 20, args.Length > 2 ? int.Parse(args[2]) : 1, args.Contains("cold"));
    return 0;
}
if (args.Length > 0 && args[0] == "conv")
{
    // Conv1D and DepthwiseConv2D against the FMA peak measured first in the same process (ShortRun).
    var shortConfig = DefaultConfig.Instance.AddJob(Job.ShortRun.WithId("short"))
        .AddColumn(GflopsColumn.Gflops, GflopsColumn.PercentOfPeak).WithOptions(ConfigOptions.JoinSummary);
    var peak = BenchmarkRunner.Run<FmaPeakProbe>(shortConfig);
    GflopsColumn.PeakGflops = GflopsColumn.Measure(peak, peak.BenchmarksCases[0]);
    Console.WriteLine($"Single-core Vector512 FMA peak measured: {GflopsColumn.PeakGflops:F1} GFLOP/s");
    BenchmarkRunner.Run<ConvLayerBenchmarks>(shortConfig);
    return 0;
}
if (args.Length > 0 && args[0] == "gemm")
{
    // The peak probe runs first, in the same process, so the GEMM table quotes its share of it.
    var peakSummary = BenchmarkRunner.Run<FmaPeakProbe>(config);
    GflopsColumn.PeakGflops = GflopsColumn.Measure(peakSummary, peakSummary.BenchmarksCases[0]);
    Console.WriteLine($"Single-core Vector512 FMA peak measured: {GflopsColumn.PeakGflops:F1} GFLOP/s");
    BenchmarkRunner.Run<GemmBenchmarks>(config);
    return 0;
}
if (args.Length > 0 && args[0] == "recurrent-time")
{
    RecurrentTiming.Run(args.Length > 1 ? int.Parse(args[1]) : 5, args.Length > 2 ? int.Parse(args[2]) : 0);
    return 0;
}
if (args.Length > 0 && args[0] == "recurrent")
{
    // LSTM, GRU, SimpleRNN and Bidirectional(LSTM) forward and forward + backward, with the FMA peak measured first.
    var peakSummary = BenchmarkRunner.Run<FmaPeakProbe>(config);
    GflopsColumn.PeakGflops = GflopsColumn.Measure(peakSummary, peakSummary.BenchmarksCases[0]);
    BenchmarkRunner.Run<RecurrentBenchmarks>(config, args[1..]);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args, config);
return 0;
