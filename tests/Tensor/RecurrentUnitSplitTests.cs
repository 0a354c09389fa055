using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// A batch too small for bands of rows (one or two sequences) runs the LSTM, GRU and simple RNN forward split by units
/// over the workers, with a barrier a step, and their backward too, its product a row at a time or by whole row tiles
/// against each worker's own packed columns (RecurrentStepJob.UnitSplit.cs). These tests require every output and gradient at 2 and 3 threads to be bitwise the
/// 1-thread one — with a mask, going backwards, an initial state, input dropout, and on embedded ids — and that the split
/// runs where it should (U a multiple of 32, R at least 128 KB, no recurrent dropout forward) and nowhere else.
/// </summary>
public class RecurrentUnitSplitTests
{
    private const int T = 9, D = 24, Vocabulary = 50, Seed = 61;

    // (kind, batch, units, splits at 2 threads): the LSTM at U = 128 and 96 (R of 256 KB and 144 KB; 96 as 32 + 64 units),
    // not at U = 64 (too small an R) nor U = 120 (not a multiple of 32); the GRU at U = 128 (192 KB), not 96 (108 KB); the
    // simple RNN at U = 192 (144 KB), not 128 (64 KB).
    [TestCase("lstm", 1, 128, true)]
    [TestCase("lstm", 2, 128, true)]
    [TestCase("lstm", 3, 128, true)]   // the fused step (AVX2's 3-row tile; AVX-512: the two-pass step) by panels
    [TestCase("lstm", 4, 128, true)]
    [TestCase("lstm", 12, 128, true)]  // one band (below 16 rows): the fused step by panels on either width
    [TestCase("lstm", 16, 128, false)] // two bands: split by rows
    [TestCase("lstm", 1, 96, true)]
    [TestCase("lstm", 1, 64, false)]
    [TestCase("lstm", 1, 120, false)]
    [TestCase("gru", 1, 128, true)]
    [TestCase("gru", 2, 128, true)]
    [TestCase("gru", 1, 96, false)]
    [TestCase("gru", 8, 128, true)]    // whole row tiles (AVX-512 only): each worker's gate columns packed on their own
    [TestCase("gru", 12, 192, true)]
    [TestCase("gru", 8, 96, false)]
    [TestCase("rnn", 1, 192, true)]
    [TestCase("rnn", 1, 128, false)]
    [TestCase("rnn", 12, 192, true)]
    [TestCase("rnn", 9, 128, false)]
    public void EveryOutputAndGradientIsBitwiseTheOneThreadOne(string kind, int batch, int units, bool splits)
    {
        // One band of rows (below 16) splits: the LSTM's fused step by panels, the GRU's and the simple RNN's product a
        // row at a time or (8 to 15 rows on AVX-512 only) by whole row tiles against each worker's packed gate columns.
        // The backward splits where the step's product runs a row at a time (T = 9 steps: one chunk); a band of whole row
        // tiles splits where no worker's share is a lone panel past KC (its own test, below).
        bool rowByRow = GemmRows.Applies(Gemm.BestKernel, batch, transB: false);
        bool backwardSplits = splits && rowByRow, backwardByTiles = splits && !rowByRow && batch < 16;
        splits &= rowByRow || batch < 16 && (kind == "lstm" ? LstmFusedStep.Applies(batch) : Gemm.BestKernel == GemmKernelKind.Vector512);
        float[][] one = RecurrentRuns.ForwardAndBackward(kind, batch, T, D, units, threads: 1, recurrentDropout: false, Seed, out var oneSplit);
        Assert.That(oneSplit, Is.EqualTo((0, 0)), "1 thread: nothing to split over");
        foreach (int threads in (int[])[2, 3])
        {
            float[][] many = RecurrentRuns.ForwardAndBackward(kind, batch, T, D, units, threads, recurrentDropout: false, Seed, out var split);
            Assert.That(split.Forward, Is.EqualTo(splits ? 1 : 0), $"{threads} threads: forward passes split by units");
            if (!backwardByTiles)
                Assert.That(split.Backward, Is.EqualTo(backwardSplits ? 1 : 0), $"{threads} threads: backward chunks split by units");
            RecurrentRuns.AssertBitwise(many, one, $"{kind}, batch {batch}, U = {units}, {threads} threads");
        }
    }

    /// <summary>Inference streams (<see cref="LstmInference"/>, 8 rows and up): split by panels, h goes back and forth
    /// between two copies. Every output and final state is bitwise the 1-thread one and the training forward's.</summary>
    [TestCase(8, true, true)]
    [TestCase(12, false, true)]
    [TestCase(12, true, false)]
    public void StreamedInferenceSplitGivesTheOneThreadAndTrainingBits(int batch, bool returnSequences, bool initial)
    {
        const int U = 128;
        float[][] training = Infer(batch, U, returnSequences, initial, record: true, threads: 1, out _);
        float[][] one = Infer(batch, U, returnSequences, initial, record: false, threads: 1, out int oneSplit);
        Assert.That(oneSplit, Is.Zero);
        RecurrentRuns.AssertBitwise(one, training, "streamed at 1 thread against the training forward");
        foreach (int threads in (int[])[2, 3])
        {
            float[][] many = Infer(batch, U, returnSequences, initial, record: false, threads, out int split);
            Assert.That(split, Is.EqualTo(LstmFusedStep.Applies(batch) ? 1 : 0), $"{threads} threads: forward passes split by units");
            RecurrentRuns.AssertBitwise(many, one, $"streamed, batch {batch}, {threads} threads");
        }
    }

    private static float[][] Infer(int n, int u, bool returnSequences, bool initial, bool record, int threads, out int splitRuns)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            Tensor x = Tensor.RandomUniform([n, T, D], -1f, 1f, 81);
            x.RequiresGrad = record; // recording keeps the training buffers; not recording streams
            Tensor w = Tensor.RandomUniform([D, 4 * u], -0.3f, 0.3f, 82), r = Tensor.RandomUniform([u, 4 * u], -0.3f, 0.3f, 83);
            Tensor b = Tensor.RandomUniform([4 * u], -0.3f, 0.3f, 84);
            Tensor? h0 = initial ? Tensor.RandomUniform([n, u], -1f, 1f, 85) : null;
            Tensor? c0 = initial ? Tensor.RandomUniform([n, u], -1f, 1f, 86) : null;
            int before = RecurrentStepJob.UnitSplitRuns;
            RecurrentOutputs outputs = Ops.LstmWithStates(x, w, r, b, returnSequences, RecurrentRuns.Mask(n, T), h0, c0, goBackwards: true);
            splitRuns = RecurrentStepJob.UnitSplitRuns - before;
            return [outputs.Output.ToArray(), outputs.Hidden!.ToArray(), outputs.Cell!.ToArray()];
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [TestCase("lstm")]
    [TestCase("gru")]
    public void RecurrentDropoutKeepsTheWholeRowAndTheBits(string kind)
    {
        float[][] one = RecurrentRuns.ForwardAndBackward(kind, 1, T, D, 128, threads: 1, recurrentDropout: true, Seed, out _);
        float[][] two = RecurrentRuns.ForwardAndBackward(kind, 1, T, D, 128, threads: 2, recurrentDropout: true, Seed, out var split);
        Assert.That(split.Forward, Is.Zero, "h̃ = h⊙m is made whole per row: no split");
        // Backward, dh_{t−1} = (dZ·Rᵀ)⊙m_h is per unit: it splits (a row at a time, or by whole row tiles on the 128-bit
        // kernels).
        Assert.That(split.Backward, Is.EqualTo(1), "backward chunks split by units");
        RecurrentRuns.AssertBitwise(two, one, "recurrent dropout, 2 threads");
    }

    /// <summary>The backward split by units over several chunks (dh's two buffers swap roles across them, each chunk's
    /// weight gradients run between); the LSTM with dX (its product [dh_{t−1} | dX_t]) and without it (dh_{t−1} alone).</summary>
    [TestCase("lstm", 1, 128, 24, true, 2)]   // D = 24: one short block of dX's columns, on one worker
    [TestCase("lstm", 2, 128, 24, false, 2)]
    [TestCase("lstm", 4, 96, 24, true, 3)]    // 96 units: 32 + 64 on two workers, 32 each on three
    [TestCase("lstm", 3, 128, 24, false, 4)]
    [TestCase("lstm", 2, 128, 80, true, 4)]   // D = 80: dX's columns as 32 + 48 on two workers, 32 + 32 + 16 on three
    [TestCase("lstm", 8, 128, 128, true, 2)]  // whole row tiles: each worker's columns of [Rᵀ | Wᵀ] packed on their own
    [TestCase("lstm", 12, 192, 24, false, 3)] // dh alone: 96 + 96 columns on two workers, 64 each on three
    [TestCase("lstm", 9, 96, 80, true, 4)]   // [dh | dX], 176 columns: 96 + 80 on two workers; 64 + 64 + 48 on three, the
                                             // middle one with units 64..96 and inputs 0..32
    [TestCase("gru", 8, 192, 24, true, 2)]   // whole row tiles: 96 + 96 units on two workers, 64 each on three
    [TestCase("rnn", 12, 192, 24, false, 3)]
    [TestCase("gru", 2, 128, 24, true, 2)]
    [TestCase("gru", 3, 128, 24, false, 4)]
    [TestCase("rnn", 2, 192, 24, true, 2)]
    [TestCase("rnn", 1, 256, 24, false, 4)]
    public void BackwardSplitByUnitsOverChunksGivesTheOneThreadBits(string kind, int batch, int units, int inputs, bool inputGradient, int chunkSteps)
    {
        int savedChunks = RecurrentStepJob.ChunkStepsOverride;
        RecurrentStepJob.ChunkStepsOverride = chunkSteps;
        try
        {
            int chunks = (T + chunkSteps - 1) / chunkSteps;
            float[][] one = RecurrentRuns.ForwardAndBackward(kind, batch, T, inputs, units, threads: 1, recurrentDropout: false, Seed, out _,
                inputGradient);
            foreach (int threads in (int[])[2, 3])
            {
                float[][] many = RecurrentRuns.ForwardAndBackward(kind, batch, T, inputs, units, threads, recurrentDropout: false, Seed, out var split,
                    inputGradient);
                Assert.That(split.Backward, Is.EqualTo(chunks), $"{threads} threads: every chunk split by units");
                RecurrentRuns.AssertBitwise(many, one, $"{kind}, batch {batch}, U = {units}, dX {inputGradient}, chunks of {chunkSteps}, {threads} threads");
            }
        }
        finally
        {
            RecurrentStepJob.ChunkStepsOverride = savedChunks;
        }
    }

    [TestCase(true, 1)]
    [TestCase(false, 1)]
    [TestCase(true, 4)]  // AVX2: the fused step on the ids' projections, by panels
    [TestCase(false, 4)]
    public void OnEmbeddedIdsTheSplitGivesTheOneThreadBits(bool training, int batch)
    {
        float[][] one = RunOnEmbedding(training, batch, threads: 1, out _);
        float[][] two = RunOnEmbedding(training, batch, threads: 2, out int split);
        // Without a row-at-a-time product or the fused step (128-bit vectors only) nothing splits.
        bool splits = GemmRows.Applies(Gemm.BestKernel, batch, transB: false) || LstmFusedStep.Applies(batch);
        Assert.That(split, Is.EqualTo(splits ? 1 : 0));
        RecurrentRuns.AssertBitwise(two, one, training ? "training on ids" : "inference on ids");
    }

    /// <summary>Sequences of ids (zeros masked) through <see cref="Ops.LstmOnEmbedding"/>: recorded (training, the
    /// projected rows of the distinct ids) or not (inference).</summary>
    private static float[][] RunOnEmbedding(bool training, int batch, int threads, out int splitRuns)
    {
        const int U = 128;
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            var random = new Random(71);
            Tensor ids = Tensor.Zeros([batch, 3 * T]);
            for (int i = 0; i < ids.Length; i++)
                ids.Span[i] = i % 5 == 2 ? 0 : random.Next(1, Vocabulary);
            Tensor table = Tensor.RandomUniform([Vocabulary, D], -1f, 1f, 72);
            Tensor w = Tensor.RandomUniform([D, 4 * U], -0.3f, 0.3f, 73), r = Tensor.RandomUniform([U, 4 * U], -0.3f, 0.3f, 74);
            Tensor b = Tensor.RandomUniform([4 * U], -0.3f, 0.3f, 75);
            Tensor[] all = [table, w, r, b];
            foreach (Tensor tensor in all)
                tensor.RequiresGrad = training;
            int before = RecurrentStepJob.UnitSplitRuns;
            Tensor y = Ops.LstmOnEmbedding(ids, table, w, r, b, returnSequences: true, maskZero: true);
            splitRuns = RecurrentStepJob.UnitSplitRuns - before;
            if (!training)
                return [y.ToArray()];
            Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform([batch, 3 * T, U], -1f, 1f, 76))).Backward();
            return [y.ToArray(), .. all.Select(tensor => tensor.Grad!.ToArray())];
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
