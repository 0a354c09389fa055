using NanoNet.Autograd;
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
        float[][] one = Run(kind, threads: 1);
        foreach (int threads in (int[])[2, 3])
        {
            float[][] many = Run(kind, threads);
            Assert.That(Parallelism.WidestRegion, Is.GreaterThan(1), $"{threads} threads: no region was split");
            for (int i = 0; i < one.Length; i++)
            {
                Assert.That(many[i], Has.Length.EqualTo(one[i].Length));
                for (int j = 0; j < one[i].Length; j++)
                    if (BitConverter.SingleToInt32Bits(one[i][j]) != BitConverter.SingleToInt32Bits(many[i][j]))
                        Assert.Fail($"{kind}, array {i}, element {j}: {one[i][j]} at 1 thread, {many[i][j]} at {threads}");
            }
        }
    }

    private static float[][] Run(string kind, int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            Parallelism.ResetWidestRegion();
            int gates = kind switch { "lstm" => 4, "gru" => 3, _ => 1 };
            Tensor x = Tensor.RandomUniform([N, T, D], -1f, 1f, 11);
            Tensor w = Tensor.RandomUniform([D, gates * U], -0.3f, 0.3f, 12), r = Tensor.RandomUniform([U, gates * U], -0.3f, 0.3f, 13);
            Tensor b = Tensor.RandomUniform(kind == "gru" ? [2, 3 * U] : [gates * U], -0.3f, 0.3f, 14);
            Tensor h0 = Tensor.RandomUniform([N, U], -1f, 1f, 15), c0 = Tensor.RandomUniform([N, U], -1f, 1f, 16);
            Tensor[] all = kind == "lstm" ? [x, w, r, b, h0, c0] : [x, w, r, b, h0];
            foreach (Tensor tensor in all)
                tensor.RequiresGrad = true;
            // Every sequence has its own mask: pre-padding of (row mod 4) steps and a hole at step (row mod T).
            var maskValues = new float[N * T];
            for (int row = 0; row < N; row++)
                for (int step = 0; step < T; step++)
                    maskValues[row * T + step] = step < row % 4 || step == row % T ? 0f : 1f;
            Tensor mask = Tensor.FromArray(maskValues, N, T);
            var random = new RandomStream(17);
            Tensor? inputDropout = Ops.DropoutMask(N, D, 0.2f, random), recurrentDropout = Ops.DropoutMask(N, U, 0.2f, random);
            RecurrentOutputs outputs = kind switch
            {
                "lstm" => Ops.LstmWithStates(x, w, r, b, returnSequences: true, mask, h0, c0, goBackwards: true, inputDropout, recurrentDropout),
                "gru" => Ops.GruWithState(x, w, r, b, returnSequences: true, mask, h0, goBackwards: true, inputDropout, recurrentDropout),
                _ => Ops.SimpleRnnWithState(x, w, r, b, ActivationFunction.Tanh, returnSequences: true, mask, h0, goBackwards: true,
                    inputDropout, recurrentDropout),
            };
            Tensor loss = Ops.Sum(Ops.Multiply(outputs.Output, Tensor.RandomUniform([N, T, U], -1f, 1f, 18)));
            loss = Ops.Add(loss, Ops.Sum(Ops.Multiply(outputs.Hidden!, Tensor.RandomUniform([N, U], -1f, 1f, 19))));
            if (outputs.Cell is { } cell)
                loss = Ops.Add(loss, Ops.Sum(Ops.Multiply(cell, Tensor.RandomUniform([N, U], -1f, 1f, 20))));
            loss.Backward();
            return [outputs.Output.ToArray(), outputs.Hidden!.ToArray(), .. all.Select(tensor => tensor.Grad!.ToArray())];
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
