namespace NanoNet.Tests.Distributed;

/// <summary>
/// Data-parallel training of the CIFAR-10 seed model under <c>mpirun -np 2</c> (examples/Distributed, real
/// images from NANONET_DATA): the equivalences the design promises, and a crashed rank ending the job.
/// </summary>
[NonParallelizable]
public class DataParallelMpiTests
{
    private const int Images = 512, Batch = 32;  // 8 steps of a global batch of 64
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("nanonet-mpi-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    private float[] Train(string name, int processes, int batch, params string[] more)
    {
        string weights = Path.Combine(_folder, name + "-{rank}.bin");
        string[] arguments = ["--data", MpiRun.RequireCifar(), "--subset", Images.ToString(), "--batch", batch.ToString(), "--threads", "1", "--weights", weights, .. more];
        (int exitCode, string output, TimeSpan elapsed) = MpiRun.Run(processes, Limit, arguments);
        TestContext.Out.WriteLine($"{name}: {processes} process(es) × batch {batch}, {elapsed.TotalSeconds:F1} s\n{output.Trim()}");
        Assert.That(exitCode, Is.Zero, $"{name} failed:\n{output}");
        float[] rank0 = Read(weights.Replace("{rank}", "0"));
        for (int rank = 1; rank < processes; rank++)
            Assert.That(Bits(Read(weights.Replace("{rank}", rank.ToString()))), Is.EqualTo(Bits(rank0)), $"{name}: rank {rank}'s weights differ from rank 0's");
        return rank0;
    }

    private static float[] Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

    [Test]
    public void TwoProcessesOfBatchBEqualOneProcessOfBatch2BAndRepeatBitwise()
    {
        MpiRun.RequireMpirun();
        float[] initial = Train("initial", 1, 2 * Batch, "--epochs", "0");
        float[] one = Train("one", 1, 2 * Batch);
        float[] two = Train("two", 2, Batch);
        float[] again = Train("again", 2, Batch);
        // Other bucket sizes, reduced only after backward: the same sums in the same order.
        float[] otherBuckets = Train("other-buckets", 2, Batch, "--bucket-kb", "64", "--no-overlap");
        // Two accumulated half batches per step: each parameter is reported ready twice, so the early
        // all-reduces are discarded and the step reduces the accumulated gradients.
        float[] accumulated = Train("accumulated", 2, Batch / 2, "--accumulate", "2");

        Assert.That(Bits(again), Is.EqualTo(Bits(two)), "two 2-process runs are bitwise identical");
        Assert.That(Bits(otherBuckets), Is.EqualTo(Bits(two)), "64 KB buckets without overlap give the same bits as 1 MB with overlap");

        // 2 × B against 1 × 2B: the same examples in every step, summed in another order (each process's
        // mean over B, then the mean of 2, against one mean over 2B): float32 rounding apart.
        double change = Difference(one, initial).Relative;
        Assert.That(change, Is.GreaterThan(1e-4), "the runs trained (8 SGD steps move the weights)");
        foreach ((string name, float[] weights) in new[] { ($"2 × {Batch}", two), ($"2 × {Batch / 2} × 2 accumulated", accumulated) })
        {
            (double max, double relative) = Difference(weights, one);
            TestContext.Out.WriteLine($"{one.Length} weights: {name} against 1 × {2 * Batch}: max |Δ| {max:G3}, ‖Δ‖/‖w‖ {relative:G3}; training moved the weights by {change:G3} of ‖w‖");
            Assert.That(max, Is.LessThan(1e-6), name);
            Assert.That(relative, Is.LessThan(1e-6), name);
        }
    }

    /// <summary>The largest element difference and the difference's norm relative to <paramref name="reference"/>'s.</summary>
    private static (double Max, double Relative) Difference(float[] weights, float[] reference)
    {
        double max = 0, squaredDifference = 0, squaredNorm = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = (double)weights[i] - reference[i];
            max = Math.Max(max, Math.Abs(d));
            squaredDifference += d * d;
            squaredNorm += (double)reference[i] * reference[i];
        }
        return (max, Math.Sqrt(squaredDifference / squaredNorm));
    }

    [Test]
    public void ARankThatCrashesEndsTheJobWithAnErrorNamingIt()
    {
        MpiRun.RequireMpirun();
        string[] arguments = ["--data", MpiRun.RequireCifar(), "--subset", Images.ToString(), "--batch", Batch.ToString(), "--threads", "1",
            "--fail-rank", "1", "--fail-step", "3"];
        (int exitCode, string output, TimeSpan elapsed) = MpiRun.Run(2, TimeSpan.FromSeconds(60), arguments);
        TestContext.Out.WriteLine($"{elapsed.TotalSeconds:F1} s, exit code {exitCode}\n{output.Trim()}");
        Assert.That(exitCode, Is.Not.Zero);
        // Open MPI says "process rank 1 ... exited on signal"; the crashing process's own FailFast line says "rank 1: crashing
        // on purpose". Either names the rank for the user, and neither wording is then load-bearing for the test alone.
        Assert.That(output, Does.Match(@"\brank 1\b"), "the job's output names the failed rank");
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(60)));
    }
}
