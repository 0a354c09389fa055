using System.Diagnostics;
using NanoNet.Diagnostics;
using NanoNet.Kernels;
using NanoNet.Optim;

namespace NanoNet.Benchmarks;

/// <summary>
/// The IMDB seed model's memory-bound passes, each with cold caches as in a training step (where the LSTM's tens of
/// megabytes run between them): the embedding gather (32×200 ids into a 20,000×128 table), its scatter-add, plain SGD's
/// update of the touched rows, and the clearing of those gradient rows. Before each timed pass a 64 MB copy evicts the
/// caches. Median of N, with GB/s against the memory bandwidth probed in the same process (<see cref="MemoryBandwidth"/>).
/// </summary>
public static class EmbeddingTiming
{
    public static void Run(int repeats, int threads)
    {
        const int Vocabulary = 20000, Width = 128, Batch = 32, Steps = 200, Positions = Batch * Steps;
        Parallelism.MaxThreads = threads;
        double bandwidth = MemoryBandwidth.MeasureGBps(threads);
        var random = new Random(1);
        int[] ids = new int[Positions];
        for (int p = 0; p < Positions; p++)
            ids[p] = random.Next(Vocabulary);
        Tensor idTensor = Tensor.FromArray(ids.Select(id => (float)id).ToArray(), Batch, Steps);
        Tensor table = Tensor.RandomUniform([Vocabulary, Width], -1, 1, seed: 1).AsParameter();
        float[] y = new float[Positions * Width], gradient = new float[Vocabulary * Width];
        var caches = new ColdCaches(enabled: true);
        var sgd = new Sgd(1e-4f);
        int touchedRows = ids.Distinct().Count();

        var times = new Dictionary<string, List<double>> { ["gather"] = [], ["scatter-add"] = [], ["sgd rows"] = [], ["clear rows"] = [] };
        // Warm-up rounds (each pass three times, then until the JIT is quiet: SteadyState) are not recorded.
        bool record = false;
        SteadyState.WarmUp(Round);
        record = true;
        for (int r = 0; r < repeats; r++)
            Round();

        void Round()
        {
            Time("gather", () => EmbeddingKernels.Gather(ids, table.Span, y, Width));
            Time("scatter-add", () => EmbeddingKernels.ScatterAdd(ids, y, gradient, Width, maskedId: -1));
            Ops.Sum(Ops.Embedding(idTensor, table)).Backward(); // the table's gradient and its touched rows, as a step leaves them
            Time("sgd rows", () => sgd.Step([table]));
            Time("clear rows", table.ZeroGrad);

            void Time(string name, Action pass)
            {
                caches.Evict();
                long start = Stopwatch.GetTimestamp();
                pass();
                if (record)
                    times[name].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        // Bytes each pass must move: a row read and a row written per position (gather); dY row read, gradient row read
        // and written (scatter); per touched row the weight read and written and the gradient read (SGD); written (clear).
        double rowBytes = Width * sizeof(float);
        var bytes = new Dictionary<string, double>
        {
            ["gather"] = 2 * rowBytes * Positions, ["scatter-add"] = 3 * rowBytes * Positions,
            ["sgd rows"] = 3 * rowBytes * touchedRows, ["clear rows"] = rowBytes * touchedRows,
        };
        Console.WriteLine($"Embedding 20,000x128, 32x200 ids ({touchedRows:N0} distinct rows), cold caches, {threads} thread(s), median of {repeats}; " +
            $"memory bandwidth probed {bandwidth:F1} GB/s");
        Console.WriteLine($"{"pass",-14}{"ms",9}{"GB/s",8}{"% bw",7}");
        foreach (var (name, list) in times)
        {
            list.Sort();
            double ms = list[list.Count / 2], gbps = bytes[name] / (ms * 1e6);
            Console.WriteLine($"{name,-14}{ms,9:F3}{gbps,8:F1}{100 * gbps / bandwidth,6:F0}%");
        }
    }
}
