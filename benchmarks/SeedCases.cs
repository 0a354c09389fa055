using System.Diagnostics;
using System.Globalization;
using NanoNet.Autograd;
using NanoNet.Data;
using NanoNet.Diagnostics;
using NanoNet.Layers;
using NanoNet.Memory;

namespace NanoNet.Benchmarks;

/// <summary>
/// One seed-model case timed in its own process, NanoNet's side of the LibTorch comparison
/// (<see cref="SideBySide"/>; the LibTorch side is benchmarks/libtorch, with the same case names).
/// </summary>
/// <remarks>
/// Cases: <c>cifar10-train</c> (batch 64), <c>cifar10-inference</c> (256), <c>text-train</c> (32, T = 200),
/// <c>text-inference</c> (256), and <c>cifar10-predict1</c> / <c>text-predict1</c>: one sample through
/// <see cref="Model.Predict(ReadOnlySpan{float}, Span{float})"/>, as an app classifying one input at a time;
/// <c>keras-cifar10-train</c> (32): the Keras example cifar10_cnn (<see cref="SeedModels.KerasCifar10"/>).
/// <c>imdb-train</c> (32) and <c>imdb-inference</c> (256) are the text cases on real IMDB test reviews (both sides read
/// the same ids); <c>NANONET_CASE_IDS=imdb</c> runs the text cases on them too, on NanoNet's side only.
/// The environment variable <c>NANONET_CASE_OPTIMIZER</c> swaps the case's optimizer for one of
/// <see cref="Optim.Optimizers.Names"/>, or its lazy variant with a <c>lazy-</c> prefix (e.g. <c>lazy-adam</c>).
/// </remarks>
public static class SeedCases
{
    public static readonly string[] Names =
        ["cifar10-train", "cifar10-inference", "text-train", "text-inference", "imdb-train", "imdb-inference", "cifar10-predict1",
            "text-predict1", "keras-cifar10-train"];

    /// <summary>The environment variable that hands the LibTorch peer the ids of an <c>imdb-*</c> case (a file of int32).</summary>
    public const string IdsFileVariable = "NANONET_CASE_IDS_FILE";

    /// <summary>
    /// Writes the ids of the <c>imdb-*</c> case of batch <paramref name="batch"/> (N×200, int32 little-endian, batch-major)
    /// for the LibTorch peer, which has no IMDB reader: both sides then run on the same reviews.
    /// </summary>
    public static void WriteImdbIds(int batch, string path)
    {
        ReadOnlySpan<float> ids = ImdbRows(batch).Features.Span;
        var bytes = new byte[ids.Length * sizeof(int)];
        for (int i = 0; i < ids.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * sizeof(int)), (int)ids[i]);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The model of a case (before its last '-') and its mode (after it: train, inference, predict1).</summary>
    public static (string Model, string Mode) Parse(string name)
    {
        int dash = name.LastIndexOf('-');
        if (dash <= 0 || !Names.Contains(name))
            throw new ArgumentException($"Unknown case '{name}'. Available: {string.Join(", ", Names)}.");
        return (name[..dash], name[(dash + 1)..]);
    }

    /// <summary>The batch of a case: the model's training batch, 256 at inference, 1 for single-sample Predict.</summary>
    public static int BatchSize(string name)
    {
        (string model, string mode) = Parse(name);
        return mode switch
        {
            "train" => SeedModels.TrainingBatchSize(model == "imdb" ? "text" : model),
            "inference" => 256,
            _ => 1,
        };
    }

    /// <summary>Median step time of one case after warm-up; one JSON line, as the LibTorch peer prints.</summary>
    public static string Run(string name, int threads, int warmup, int steps)
    {
        Parallelism.MaxThreads = threads;
        (string model, string mode) = Parse(name);
        // imdb-*: the text seed model on real reviews (rows of the IMDB test set, found through NANONET_DATA) instead
        // of uniform random ids; the LibTorch peer reads the same ids (WriteImdbIds).
        bool realText = model == "imdb";
        if (realText)
            model = "text";
        int batch = BatchSize(name);
        (Sequential net, Dataset data) = SeedModels.Create(model, batch);
        // NANONET_CASE_IDS=imdb: the text-* cases on those reviews too (NanoNet's side only).
        if (realText || (model == "text" && Environment.GetEnvironmentVariable("NANONET_CASE_IDS") == "imdb"))
            data = ImdbRows(batch);
        // NANONET_CASE_OPTIMIZER=adam (or lazy-adam, lazy-rmsprop, ...): the same case with another optimizer (Keras defaults).
        if (Environment.GetEnvironmentVariable("NANONET_CASE_OPTIMIZER") is { Length: > 0 } optimizer)
        {
            bool lazy = optimizer.StartsWith("lazy-", StringComparison.Ordinal);
            net.Compile(Optim.Optimizers.Create(lazy ? optimizer["lazy-".Length..] : optimizer, lazy: lazy), net.Losses[0], seed: 0);
        }
        Action step = mode switch
        {
            "train" => () => net.TrainStep(data),
            "inference" => InferenceStep(net, data.Features),
            _ => PredictOneStep(net, data.Features),
        };
        // The side-by-side warm-up, the LibTorch peer's too (SteadyState).
        // NANONET_THREADS_SWITCH=1,1,2,2: the thread count switched every step the same way (the case's own count is
        // ignored), the warm-up's steps too: a scaling ratio inside one process, one-thread and two-thread steps
        // interleaved, so the machine's drift (which moves a process's step by ±10% on the project's VM) falls on both
        // alike. The JSON line then gives each count's median over the steps that followed a step at the same count
        // (the first after a switch finds the other count's data in the other core's cache), and the host's own
        // scaling, the FMA probe at the largest count against one thread, just before and just after the steps.
        int[]? threadCounts = Environment.GetEnvironmentVariable("NANONET_THREADS_SWITCH")?.Split(',')
            .Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        int warmupCalls = 0;
        Action warmupStep = threadCounts == null ? step : () =>
        {
            Parallelism.MaxThreads = threadCounts[warmupCalls++ % threadCounts.Length];
            step();
        };
        // NANONET_RECURRENT_SHARED=rule,0,4: the rows of the LSTM pipelined backward's shared strip
        // (RecurrentBackwardPipeline.SharedRows; rule = its choice, a number = that many rows, 0 = none), switched every
        // step the same way; the warm-up runs the first.
        string[]? sharedStrip = Environment.GetEnvironmentVariable("NANONET_RECURRENT_SHARED")?.Split(',');
        if (sharedStrip != null)
            SetSharedRows(sharedStrip[0]);
        int warmupSteps = SteadyState.WarmUp(warmupStep, Math.Max(warmup, SteadyState.CaseMinSteps), SteadyState.CaseMinSeconds);
        double hostScalingBefore = threadCounts == null ? 0 : HostFmaScaling(threadCounts.Max());
        Profiler.Reset(); // NANONET_PROFILE=1: the per-op table of the timed steps goes to stderr
        PoolStats.Reset(); // NANONET_POOL_STATS=1: the worker pool's late starts and joins, per kind of region
        var times = new double[steps];
        // Process-wide, so the worker threads' allocations count too (a per-thread count once hid megabytes per step
        // allocated on the workers; see benchmarks/README.md, "allocation per training step").
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        // NANONET_RECURRENT_CHUNKS=1000,0: the recurrent backward's chunk of steps switched every step, round robin (0 = the
        // cache rule, a number = that many steps; 1000 = one chunk), and a median per setting: a before/after comparison
        // inside one process, so the machine's drift between processes does not blur a few percent.
        int[]? chunks = Environment.GetEnvironmentVariable("NANONET_RECURRENT_CHUNKS")?.Split(',').Select(int.Parse).ToArray();
        // NANONET_WINOGRAD=off,2,4: the 3×3 convolutions' Winograd kernel switched every step the same way (off = the
        // direct kernel, 2 or 4 = that tile size, auto = the rule's choice).
        string[]? winograd = Environment.GetEnvironmentVariable("NANONET_WINOGRAD")?.Split(',');
        // NANONET_CACHE_LINES=on,off: the kernels' buffers and the step's tensors started on a cache line or wherever their
        // arrays start (CacheLineAlignment), switched every step the same way; parameters keep the start they were made with.
        string[]? cacheLines = Environment.GetEnvironmentVariable("NANONET_CACHE_LINES")?.Split(',');
        // NANONET_WINOGRAD_DW=on,off: the 3×3 convolutions' weight gradient by Winograd's F(3×3, 4×4) or the direct kernel.
        string[]? winogradWeights = Environment.GetEnvironmentVariable("NANONET_WINOGRAD_DW")?.Split(',');
        // Under NANONET_THREADS_SWITCH with NANONET_PROFILE=1, the profiler keeps one table per count and records only the
        // steps that follow a step at the same count, as the medians below do.
        // NANONET_GEMM_PREFETCH=one,all: the GEMM's prefetch plan on one worker only or on every worker
        // (Gemm.PrefetchesOnSeveralWorkers), switched every step the same way.
        string[]? gemmPlan = Environment.GetEnvironmentVariable("NANONET_GEMM_PREFETCH")?.Split(',');
        // NANONET_GEMM_WHOLE_K=slabs,whole: single-panel products (the Keras Dense dX) in KC slabs or K whole (Gemm.TakesKWhole).
        string[]? wholeK = Environment.GetEnvironmentVariable("NANONET_GEMM_WHOLE_K")?.Split(',');
        // NANONET_GEMM_IN_PLACE_B=plain,ahead,packed: tiles reading a B panel in place ask for its rows ahead or not
        // (Gemm.AsksInPlaceRowsAhead), or the skinny products' big operands are packed (Gemm.ReadsInPlace).
        string[]? inPlaceB = Environment.GetEnvironmentVariable("NANONET_GEMM_IN_PLACE_B")?.Split(',');
        // NANONET_GEMM_TRANSPOSED_C=on,off: few-row products against a big Bᵀ (the Keras Dense dX) computed as Cᵀ on the
        // 6×16 kernel or packed (Gemm.TransposedCMaxRows256).
        string[]? transposedC = Environment.GetEnvironmentVariable("NANONET_GEMM_TRANSPOSED_C")?.Split(',');
        int transposedCRows = NanoNet.Kernels.Gemm.TransposedCMaxRows256;
        // NANONET_RELU_BITS=on,off: the AVX2 stems keep their ReLU's bits for the backward, or it reads y
        // (Conv2DKernels.ReluBitsOnAvx2). NANONET_POOL_IN_REGISTERS=on,off: the AVX2 stems' pooled forward pools each
        // window in registers or a row pair from L1 (DirectConvForward256.PoolsInRegisters).
        string[]? reluBits = Environment.GetEnvironmentVariable("NANONET_RELU_BITS")?.Split(',');
        string[]? poolInRegisters = Environment.GetEnvironmentVariable("NANONET_POOL_IN_REGISTERS")?.Split(',');
        // NANONET_GEMM_ONE_ROW_BLOCK=on,off: a short-K product's M in one packed-A block when it fits (Gemm.RowBlock) or MC rows.
        string[]? oneRowBlock = Environment.GetEnvironmentVariable("NANONET_GEMM_ONE_ROW_BLOCK")?.Split(',');
        // NANONET_GEMM_SPREAD=on,off: whole 6×16 tiles take the prefetch plan along their K loop or in a burst (Gemm.SpreadsPrefetch256).
        string[]? spread = Environment.GetEnvironmentVariable("NANONET_GEMM_SPREAD")?.Split(',');
        bool profiling = Profiler.Enabled;
        for (int i = 0; i < steps; i++)
        {
            if (transposedC != null)
                NanoNet.Kernels.Gemm.TransposedCMaxRows256 = transposedC[i % transposedC.Length] == "off" ? 0 : transposedCRows;
            if (inPlaceB != null)
            {
                string way = inPlaceB[i % inPlaceB.Length];
                NanoNet.Kernels.Gemm.ReadsInPlace = way != "packed";
                NanoNet.Kernels.Gemm.AsksInPlaceRowsAhead = way == "ahead";
            }
            if (spread != null)
                NanoNet.Kernels.Gemm.SpreadsPrefetch256 = spread[i % spread.Length] != "off";
            if (oneRowBlock != null)
                NanoNet.Kernels.Gemm.OneRowBlockForShortK = oneRowBlock[i % oneRowBlock.Length] != "off";
            if (gemmPlan != null)
                NanoNet.Kernels.Gemm.PrefetchesOnSeveralWorkers = gemmPlan[i % gemmPlan.Length] == "all";
            if (reluBits != null)
                NanoNet.Kernels.Conv2DKernels.ReluBitsOnAvx2 = reluBits[i % reluBits.Length] != "off";
            if (poolInRegisters != null)
                NanoNet.Kernels.DirectConvForward256.PoolsInRegisters = poolInRegisters[i % poolInRegisters.Length] != "off";
            if (wholeK != null)
                NanoNet.Kernels.Gemm.TakesKWhole = wholeK[i % wholeK.Length] == "whole";
            if (threadCounts != null)
            {
                Parallelism.MaxThreads = threadCounts[i % threadCounts.Length];
                Profiler.Enabled = profiling && i > 0 && threadCounts[(i - 1) % threadCounts.Length] == threadCounts[i % threadCounts.Length];
            }
            if (sharedStrip != null)
                SetSharedRows(sharedStrip[i % sharedStrip.Length]);
            if (chunks != null)
                NanoNet.Kernels.RecurrentStepJob.ChunkStepsOverride = chunks[i % chunks.Length];
            if (winograd != null)
                SetWinograd(winograd[i % winograd.Length]);
            if (cacheLines != null)
                NanoNet.Memory.CacheLineAlignment.Enabled = cacheLines[i % cacheLines.Length] != "off";
            if (winogradWeights != null)
                NanoNet.Kernels.WinogradWeightGradient.Enabled = winogradWeights[i % winogradWeights.Length] != "off";
            long start = Stopwatch.GetTimestamp();
            step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Profiler.Enabled = profiling;
        // Before the reports and probes below, which allocate.
        long allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / steps;
        if (winograd != null)
        {
            SetWinograd("auto");
            ReportSwitched("Winograd", winograd, times);
        }
        if (cacheLines != null)
        {
            NanoNet.Memory.CacheLineAlignment.Enabled = true;
            ReportSwitched("cache-line starts", cacheLines, times);
        }
        if (gemmPlan != null)
        {
            NanoNet.Kernels.Gemm.PrefetchesOnSeveralWorkers = true;
            ReportSwitched("GEMM prefetch", gemmPlan, times);
        }
        if (wholeK != null)
        {
            NanoNet.Kernels.Gemm.TakesKWhole = true;
            ReportSwitched("single-panel K", wholeK, times);
        }
        if (sharedStrip != null)
        {
            NanoNet.Kernels.RecurrentBackwardPipeline.SharedRowsOverride = -1;
            ReportSwitched("recurrent shared strip", sharedStrip, times);
        }
        if (transposedC != null)
        {
            NanoNet.Kernels.Gemm.TransposedCMaxRows256 = transposedCRows;
            ReportSwitched("Cᵀ on the 6×16 kernel", transposedC, times);
        }
        if (inPlaceB != null)
        {
            NanoNet.Kernels.Gemm.ReadsInPlace = NanoNet.Kernels.Gemm.AsksInPlaceRowsAhead = true;
            ReportSwitched("in-place B panels", inPlaceB, times);
        }
        if (oneRowBlock != null)
        {
            NanoNet.Kernels.Gemm.OneRowBlockForShortK = true;
            ReportSwitched("one row block for a short K", oneRowBlock, times);
        }
        if (spread != null)
        {
            NanoNet.Kernels.Gemm.SpreadsPrefetch256 = true;
            ReportSwitched("spread prefetch 6x16", spread, times);
        }
        if (winogradWeights != null)
        {
            NanoNet.Kernels.WinogradWeightGradient.Enabled = true;
            ReportSwitched("Winograd weight gradient", winogradWeights, times);
        }
        if (reluBits != null)
        {
            NanoNet.Kernels.Conv2DKernels.ReluBitsOnAvx2 = true;
            ReportSwitched("AVX2 ReLU bits", reluBits, times);
        }
        if (poolInRegisters != null)
        {
            NanoNet.Kernels.DirectConvForward256.PoolsInRegisters = true;
            ReportSwitched("AVX2 pooling in registers", poolInRegisters, times);
        }
        string switched = "";
        if (threadCounts != null)
        {
            double hostScalingAfter = HostFmaScaling(threadCounts.Max());
            Parallelism.MaxThreads = threads;
            ReportSwitched("threads", [.. threadCounts.Select(t => t.ToString(CultureInfo.InvariantCulture))], times);
            IEnumerable<string> medians = threadCounts.Distinct().Order().Select(t => string.Create(CultureInfo.InvariantCulture,
                $"\"{t}\": {SteadyMedian(times, threadCounts, t):F4}"));
            switched = string.Create(CultureInfo.InvariantCulture,
                $", \"steady_ms_by_threads\": {{{string.Join(", ", medians)}}}, \"host_fma_scaling\": [{hostScalingBefore:F3}, {hostScalingAfter:F3}]");
        }
        if (chunks != null)
        {
            NanoNet.Kernels.RecurrentStepJob.ChunkStepsOverride = 0;
            for (int v = 0; v < chunks.Length; v++)
            {
                double[] mine = [.. times.Where((_, i) => i % chunks.Length == v).Order()];
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"recurrent backward chunk {chunks[v]}: median {mine[mine.Length / 2]:F2} ms, first quartile {mine[mine.Length / 4]:F2}, best {mine[0]:F2} ({mine.Length} steps)"));
            }
        }
        if (Profiler.Enabled)
            Console.Error.WriteLine(Profiler.Report());
        if (PoolStats.Enabled)
            Console.Error.WriteLine(PoolStats.Report(steps));
        Array.Sort(times);
        double median = times[steps / 2];
        string side = threadCounts == null ? "nanonet" : ThreadsSwitchSide; // a switched run's median mixes the counts
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"side\": \"{side}\", \"case\": \"{name}\", \"threads\": {threads}, \"batch\": {batch}, \"median_ms\": {median:F4}, \"per_second\": {batch * 1000 / median:F1}, \"alloc_bytes_per_step\": {allocated}, \"warmup_steps\": {warmupSteps}{switched}}}");
    }

    /// <summary>The side a run under <c>NANONET_THREADS_SWITCH</c> reports: its median mixes the thread counts.</summary>
    public const string ThreadsSwitchSide = "nanonet-threads-switch";

    /// <summary>
    /// The median step at <paramref name="threads"/> threads of a run whose count followed <paramref name="counts"/>
    /// round robin, over the steps whose previous step ran at the same count (NaN if there are none).
    /// </summary>
    internal static double SteadyMedian(double[] timesInOrder, int[] counts, int threads)
    {
        double[] mine = [.. Enumerable.Range(1, timesInOrder.Length - 1)
            .Where(i => counts[i % counts.Length] == threads && counts[(i - 1) % counts.Length] == threads)
            .Select(i => timesInOrder[i]).Order()];
        return mine.Length == 0 ? double.NaN : mine[mine.Length / 2];
    }

    /// <summary>What the machine gives <paramref name="threads"/> threads now: the FMA probe at that count over one thread's.</summary>
    private static double HostFmaScaling(int threads) =>
        NanoNet.Diagnostics.FmaPeak.MeasureGflops(threads) / NanoNet.Diagnostics.FmaPeak.MeasureGflops(1);

    /// <summary>The first <paramref name="rows"/> reviews of the IMDB test set (20,000-word vocabulary, 200 ids, as the seed model reads them), spread over both classes.</summary>
    private static Dataset ImdbRows(int rows)
    {
        (_, Dataset test, _) = Imdb.Load(Imdb.Locate());
        int steps = test.Features.Dim(1), stride = test.Features.Dim(0) / rows;
        var ids = new float[rows * steps];
        var labels = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            test.Features.Span.Slice(r * stride * steps, steps).CopyTo(ids.AsSpan(r * steps, steps));
            labels[r] = test.Labels.Span[r * stride];
        }
        return new Dataset(Tensor.FromArray(ids, rows, steps), Tensor.FromArray(labels, rows));
    }

    /// <summary>A batch forward as <c>Predict</c> runs it: no tape, intermediates in step memory released per batch.</summary>
    private static Action InferenceStep(Sequential net, Tensor x)
    {
        var memory = new StepMemory();
        return () =>
        {
            memory.Release();
            using (memory.Use())
            using (Tape.NoGrad())
                net.Forward(x);
        };
    }

    /// <summary>One sample in, its class probabilities out, through the allocation-free single-sample Predict.</summary>
    private static Action PredictOneStep(Sequential net, Tensor x)
    {
        float[] sample = x.ToArray();
        var output = new float[Shapes.Product(net.Outputs[0].Shape)];
        return () => net.Predict(sample, output);
    }

    /// <summary>The median, first quartile and best step of each setting of a switch changed every step (round robin).</summary>
    private static void ReportSwitched(string name, string[] settings, double[] times)
    {
        for (int v = 0; v < settings.Length; v++)
        {
            double[] mine = [.. times.Where((_, i) => i % settings.Length == v).Order()];
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} {settings[v]}: median {mine[mine.Length / 2]:F2} ms, first quartile {mine[mine.Length / 4]:F2}, best {mine[0]:F2} ({mine.Length} steps)"));
        }
    }

    /// <summary>The LSTM pipelined backward's shared strip of <c>NANONET_RECURRENT_SHARED</c>: <c>rule</c> (its choice) or that many rows.</summary>
    private static void SetSharedRows(string setting) =>
        NanoNet.Kernels.RecurrentBackwardPipeline.SharedRowsOverride =
            setting is "rule" or "auto" ? -1 : int.Parse(setting, CultureInfo.InvariantCulture);

    /// <summary>The Winograd setting of <c>NANONET_WINOGRAD</c>: off, 2, 4 or auto.</summary>
    private static void SetWinograd(string setting)
    {
        NanoNet.Kernels.WinogradConv.Enabled = setting != "off";
        NanoNet.Kernels.WinogradConv.ForcedTile = setting is "2" or "4" ? int.Parse(setting, CultureInfo.InvariantCulture) : 0;
    }
}
