using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The recurrent kernels split the batch rows into bands once per pass, and each worker runs its band through every
/// step (<see cref="RecurrentStepJob"/>). These tests run LSTM, GRU and SimpleRNN forward and backward at 1, 2 and 3
/// threads on a batch that does not divide evenly (with AVX-512's 8-row tile: bands of 16, 16 and 5 rows at 3 threads, 24 and 13 at 2), with a
/// mask, going backwards, both dropouts, an initial state and the state gradients, and require every output and
/// gradient to be bitwise the 1-thread one.
/// </summary>
public class RecurrentBandSplitTests
{
    private static readonly string[] Kinds = ["lstm", "gru", "rnn"];

    private const int N = 37, T = 9, D = 24, U = 40;

    [Test]
    public void BandsAreWholeRowTilesAndCoverTheBatch()
    {
        int tile = GemmMicroKernels.TileSize(Gemm.BestKernel).Mr;
        // The 6×16 kernel also ends a band in a 4-row edge strip (GemmMicroKernels.Kernel4x16): 16 + 16 rows for a batch of 32, not 18 + 14.
        bool fourRowEdges = Gemm.BestKernel == GemmKernelKind.Vector256;
        foreach (int batch in (int[])[N, 32, 64, 7])
            foreach (int workers in (int[])[1, 2, 3])
            {
                int band = RecurrentStepJob.BandRows(batch, workers);
                Assert.That(band % tile == 0 || (fourRowEdges && band % tile == 4), $"batch {batch}, {workers} workers: band {band}");
                Assert.That(band * workers, Is.GreaterThanOrEqualTo(batch), $"batch {batch}, {workers} workers");
                Assert.That(band, Is.LessThan((batch + workers - 1) / workers + tile), $"batch {batch}, {workers} workers: no more than a tile over the share");
            }
        if (fourRowEdges)
            Assert.That(RecurrentStepJob.BandRows(32, 2), Is.EqualTo(16));
    }

    [Test]
    public void EveryOutputAndGradientIsBitwiseTheOneThreadOne([ValueSource(nameof(Kinds))] string kind)
    {
        float[][] one = RecurrentRuns.ForwardAndBackward(kind, N, T, D, U, threads: 1, recurrentDropout: true, seed: 11, out _);
        foreach (int threads in (int[])[2, 3])
        {
            float[][] many = RecurrentRuns.ForwardAndBackward(kind, N, T, D, U, threads, recurrentDropout: true, seed: 11, out _);
            Assert.That(Parallelism.WidestRegion, Is.GreaterThan(1), $"{threads} threads: no region was split");
            RecurrentRuns.AssertBitwise(many, one, $"{kind}, {threads} threads");
        }
    }
}
