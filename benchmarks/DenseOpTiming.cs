using System.Diagnostics;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// The narrow output Dense layers as ops (<see cref="Ops.Linear"/> forward, and its tape entry's backward: dW, dX, db)
/// against their GEMMs alone, so the op's own costs (its output and gradients rented, the bias pass, the tape) and the
/// caches it meets show apart from the product: the Keras model's 32×512→10, the CIFAR-10 seed's 64×128→10, the IMDB
/// model's 32×128→2. Warm (operands in cache, as when the op is timed alone) or <c>cold</c> (a 64 MB copy before each
/// call, as after a step's other layers). Median and first quartile of N calls in µs, and the % of the FMA peak probed
/// in the same process. <c>dense-op-time [repeats] [cold]</c>.
/// </summary>
public static class DenseOpTiming
{
    private static readonly (string Name, int Rows, int Inputs, int Outputs)[] Shapes =
    [
        ("keras output 32x512->10", 32, 512, 10),
        ("cifar seed output 64x128->10", 64, 128, 10),
        ("imdb output 32x128->2", 32, 128, 2),
    ];

    public static void Run(int repeats, bool cold)
    {
        Parallelism.MaxThreads = 1;
        double peak = FmaPeak.MeasureGflops();
        var caches = new ColdCaches(cold);
        Console.WriteLine($"1 thread, {(cold ? "cold caches (64 MB copied before each call)" : "warm caches")}, FMA peak probed {peak:F0} GFLOP/s; q1 / median of {repeats} calls");
        Console.WriteLine($"{"shape",-30}{"timed",-22}{"q1 us",9}{"med us",9}{"% peak",8}");
        foreach (var (name, rows, inputs, outputs) in Shapes)
        {
            Tensor x = Tensor.RandomUniform([rows, inputs], -0.5f, 0.5f, 1), weight = Tensor.RandomUniform([inputs, outputs], -0.5f, 0.5f, 2);
            Tensor bias = Tensor.RandomUniform([outputs], -0.5f, 0.5f, 3), dZ = Tensor.RandomUniform([rows, outputs], -0.5f, 0.5f, 4);
            Tensor y = Tensor.Empty(rows, outputs);
            Tensor dW = Tensor.Empty(inputs, outputs), dX = Tensor.Empty(rows, inputs);
            x.RequiresGrad = weight.RequiresGrad = bias.RequiresGrad = true;
            double flops = 2.0 * rows * inputs * outputs;
            // The op's backward alone: the forward (recorded) and the loss run untimed, then the Linear entry's backward
            // is timed through the profiler's own hook (the tape times each entry it runs).
            var cases = new (string Timed, double Flops, Func<double> Run)[]
            {
                ("op forward", flops, () =>
                {
                    caches.Evict();
                    long start = Stopwatch.GetTimestamp();
                    Tensor output = Ops.Linear(x, weight, bias); // recorded, as in training
                    double microseconds = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    Ops.Sum(output).Backward(); // untimed: consumes the tape
                    x.ZeroGrad(); weight.ZeroGrad(); bias.ZeroGrad();
                    return microseconds;
                }),
                ("op backward", 2 * flops, () =>
                {
                    Tensor loss = Ops.Sum(Ops.Linear(x, weight, bias));
                    caches.Evict();
                    Profiler.Reset();
                    Profiler.Enabled = true;
                    loss.Backward();
                    Profiler.Enabled = false;
                    double microseconds = Profiler.RecordedMilliseconds("Linear", backward: true) * 1000;
                    x.ZeroGrad(); weight.ZeroGrad(); bias.ZeroGrad();
                    return microseconds;
                }),
                ("GEMM y = x W", flops, () => TimedProduct(() =>
                    Gemm.Multiply(false, false, rows, outputs, inputs, x.Span, inputs, weight.Span, outputs, y.Span, outputs))),
                ("GEMM dW = x^T dZ", flops, () => TimedProduct(() =>
                    Gemm.Multiply(true, false, inputs, outputs, rows, x.Span, inputs, dZ.Span, outputs, dW.Span, outputs))),
                ("GEMM dX = dZ W^T", flops, () => TimedProduct(() =>
                    Gemm.Multiply(false, true, rows, inputs, outputs, dZ.Span, outputs, weight.Span, outputs, dX.Span, inputs))),
            };
            double TimedProduct(Action product)
            {
                caches.Evict();
                long start = Stopwatch.GetTimestamp();
                product();
                return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
            foreach (var (timed, caseFlops, run) in cases)
            {
                SteadyState.WarmUp(() => run(), minCalls: 50, minSeconds: 0.5);
                var times = new double[repeats];
                for (int r = 0; r < repeats; r++)
                    times[r] = run();
                Array.Sort(times);
                double q1 = times[repeats / 4], median = times[repeats / 2];
                Console.WriteLine($"{name,-30}{timed,-22}{q1,9:F2}{median,9:F2}{100 * caseFlops / (median * 1e3) / peak,7:F0}%");
            }
        }
    }
}
