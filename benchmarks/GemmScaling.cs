using System.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// What two threads give a GEMM-bound step on this machine: the LSTM chunk's weight-gradient product
/// (dW += X̃ᵀ·dZ, 128×512×512 with Aᵀ, the IMDB seed shape; <see cref="SideBySideWeightGradients"/>) on one worker, then on
/// two workers at once, each on its own operands (its own X̃, its own dZ written by itself just before, its own dW):
/// nothing is shared, so a ratio below the FMA probe's (<c>fma-scaling</c>) is what the two cores' caches and memory
/// give a GEMM that streams its operands from L2 and beyond. <c>gemm-scaling [rounds]</c>.
/// </summary>
public static class GemmScaling
{
    private const int M = 128, N = 512, K = 512;

    public static void Run(int rounds)
    {
        const int Calls = 100;
        var job = new PrivateProducts();
        int savedThreads = Parallelism.MaxThreads;
        Console.WriteLine($"{M}x{N}x{K} (A^T) on private operands, median of {Calls} calls per cell; 2 workers: each its own product at once");
        Console.WriteLine($"{"round",6}{"1 worker us",14}{"2 workers us",14}{"ratio",8}");
        for (int r = -1; r < rounds; r++) // round -1 warms up and is not printed
        {
            double one = Median(job, 1, Calls), two = Median(job, 2, Calls);
            if (r >= 0) // two products in `two` against one in `one`
                Console.WriteLine($"{r,6}{one,14:F1}{two,14:F1}{2 * one / two,8:F2}");
        }
        Parallelism.MaxThreads = savedThreads;
    }

    private static double Median(PrivateProducts job, int workers, int calls)
    {
        // One worker: the product on a one-thread pool (a region of one runs inline, where a GEMM would use every thread).
        Parallelism.MaxThreads = workers;
        var times = new double[calls];
        for (int c = 0; c < calls; c++)
        {
            job.Timing = false;
            Parallelism.Run(job, workers); // each worker writes its dZ, as the LSTM's steps leave it
            job.Timing = true;
            long start = Stopwatch.GetTimestamp();
            Parallelism.Run(job, workers);
            times[c] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        return times[calls / 2];
    }

    /// <summary>Worker w owns X̃_w (K×M), dZ_w (K×N) and dW_w (M×N); untimed it rewrites dZ_w, timed it multiplies.</summary>
    private sealed class PrivateProducts : ParallelJob
    {
        public bool Timing;
        private readonly float[][] _x, _dz, _dzSource, _dw = [new float[M * N], new float[M * N]];

        public PrivateProducts()
        {
            _x = [Random(K * M, 1), Random(K * M, 2)];
            _dz = [new float[K * N], new float[K * N]];
            _dzSource = [Random(K * N, 3), Random(K * N, 4)]; // copied into dZ by its worker before each timed call
        }

        public override void RunWorker(int worker, int workerCount)
        {
            if (!Timing)
            {
                _dzSource[worker].CopyTo(_dz[worker], 0);
                return;
            }
            // A GEMM started inside a region runs on this worker alone.
            Gemm.Multiply(true, false, M, N, K, _x[worker], M, _dz[worker], N, _dw[worker], N, accumulate: true);
        }

        private static float[] Random(int length, int seed)
        {
            var random = new Random(seed);
            var values = new float[length];
            for (int i = 0; i < length; i++)
                values[i] = random.NextSingle() - 0.5f;
            return values;
        }
    }
}
