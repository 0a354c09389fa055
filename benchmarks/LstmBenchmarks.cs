using NanoNet.Memory;
using BenchmarkDotNet.Attributes;
using NanoNet.Autograd;

namespace NanoNet.Benchmarks;

/// <summary>
/// The LSTM op at the IMDB seed model's shapes: batch 32, 200 steps, 128 inputs → 128 units,
/// forward alone and forward + backward (into x, W, R and b).
/// </summary>
public class LstmBenchmarks
{
    [Params(1, 2)]
    public int Threads { get; set; }

    private Tensor _x = null!, _w = null!, _r = null!, _b = null!, _dY = null!;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        (_x, _w, _r, _b, _dY) = LstmTiming.Inputs(32, 200, 128, 128);
    }

    [Benchmark(Description = "LSTM forward (32x200, 128->128)")]
    public float Forward() => LstmTiming.Forward(_x, _w, _r, _b);

    [Benchmark(Description = "LSTM forward + backward (32x200, 128->128)")]
    public float ForwardBackward() => LstmTiming.ForwardBackward(_x, _w, _r, _b, _dY);
}

/// <summary>LSTM timing helpers shared by the BenchmarkDotNet class and the quick Stopwatch command.</summary>
public static class LstmTiming
{
    public static (Tensor X, Tensor W, Tensor R, Tensor B, Tensor DY) Inputs(int batch, int steps, int inputs, int units) => (
        Tensor.RandomUniform([batch, steps, inputs], -1, 1, 1).AsParameter(),
        Tensor.RandomUniform([inputs, 4 * units], -0.1f, 0.1f, 2).AsParameter(),
        Tensor.RandomUniform([units, 4 * units], -0.1f, 0.1f, 3).AsParameter(),
        Tensor.Zeros(4 * units).AsParameter(),
        Tensor.RandomUniform([batch, units], -1, 1, 4));

    // Activations and gradients come from step memory, released before each run, as in training.
    private static readonly StepMemory Memory = new();

    public static float Forward(Tensor x, Tensor w, Tensor r, Tensor b)
    {
        Memory.Release();
        using (Memory.Use())
        using (Tape.NoGrad())
            return Ops.Lstm(x, w, r, b)[0];
    }

    public static float ForwardBackward(Tensor x, Tensor w, Tensor r, Tensor b, Tensor dY)
    {
        Memory.Release();
        using (Memory.Use())
        {
            Tensor y = Ops.Lstm(x, w, r, b);
            Ops.Sum(Ops.Multiply(y, dY)).Backward();
            return w.Grad![0];
        }
    }

    /// <summary>
    /// The training forward alone (<see cref="Kernels.LstmKernels.Forward"/> filling the buffers backward reads), on
    /// buffers allocated once.
    /// </summary>
    public static Func<float> TrainingForward(Tensor x, Tensor w, Tensor r, Tensor b)
    {
        int n = x.Shape[0], t = x.Shape[1], d = x.Shape[2], u = r.Shape[0];
        var s = new Kernels.LstmShape(n, t, d, u);
        float[] input = new float[s.InputLength], gates = new float[s.GatesLength], hidden = new float[s.HistoryLength],
            cell = new float[s.HistoryLength], tanh = new float[s.TanhLength], y = new float[s.OutputLength(false)];
        return () =>
        {
            Kernels.LstmKernels.Forward(s, x.Span, w.Span, r.Span, b.Span, default, default, default, y, false,
                new Kernels.LstmBuffers { InputTimeMajor = input, Gates = gates, Hidden = hidden, Cell = cell, TanhCell = tanh });
            return y[0];
        };
    }

    /// <summary>
    /// Best (minimum) milliseconds over <paramref name="repeats"/> runs at each thread count: on a shared machine the
    /// minimum is the least disturbed run. "forward" is the streamed inference, "train fwd" the training forward alone,
    /// "fwd+bwd" a training step's LSTM; <paramref name="fused"/> false runs the two-pass step on an AVX-512 machine.
    /// </summary>
    public static void Run(int[] threadCounts, int repeats, bool fused = true)
    {
        var (x, w, r, b, dY) = Inputs(32, 200, 128, 128);
        Kernels.LstmFusedStep.Enabled = fused;
        Func<float> trainingForward = TrainingForward(x, w, r, b);
        Console.WriteLine($"{"LSTM 32x200, 128->128",-28}{"threads",8}{"forward ms",14}{"train fwd ms",14}{"fwd+bwd ms",14}");
        foreach (int threads in threadCounts)
        {
            Parallelism.MaxThreads = threads;
            double forward = Best(() => Forward(x, w, r, b), repeats);
            double train = Best(trainingForward, repeats);
            double both = Best(() => ForwardBackward(x, w, r, b, dY), repeats);
            Console.WriteLine($"{"",-28}{threads,8}{forward,14:F2}{train,14:F2}{both,14:F2}");
        }
    }

    private static double Best(Func<float> action, int repeats)
    {
        SteadyState.WarmUp(() => action()); // pools, and the JIT's tiers
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            action();
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[0];
    }
}
