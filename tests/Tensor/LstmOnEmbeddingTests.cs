using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The LSTM on embedded ids (<see cref="LstmInference.ForwardOnEmbedding"/>, <see cref="Ops.LstmOnEmbedding"/>): each
/// distinct id's x·W projected once, then the recurrent steps start from the projections. Bit for bit the streamed
/// forward on the gathered sequence (and so the training forward), with and without a mask, going backwards, from a
/// given state, returning the sequence or the last step, at a partial panel (U = 12) and a partial row tile (N = 37),
/// at 1, 2 and 3 threads, on the fused (AVX-512) and the two-pass step; the op falls back to Embedding + Lstm where
/// the projected path does not apply. When recording, see <see cref="LstmOnEmbeddingTrainingTests"/>.
/// </summary>
public class LstmOnEmbeddingTests
{
    internal const int T = 9, D = 24, Vocabulary = 30;

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int n in (int[])[8, 37])
            foreach (int u in (int[])[40, 12])
                foreach (bool returnSequences in (bool[])[false, true])
                    foreach (bool masked in (bool[])[false, true])
                        foreach (bool goBackwards in (bool[])[false, true])
                            yield return new TestCaseData(n, u, returnSequences, masked, goBackwards);
    }

    [Test]
    public void DistinctIdsAreNumberedInOrderOfFirstOccurrence()
    {
        int[] ids = [5, 2, 5, 0, 2, 7, 0];
        int[] slotOfId = new int[8], slots = new int[ids.Length], distinct = new int[ids.Length];
        Array.Fill(slotOfId, 123); // scratch: any contents
        int count = DistinctIds.Number(ids, slotOfId, slots, distinct);
        Assert.That(count, Is.EqualTo(4));
        Assert.That(distinct[..count], Is.EqualTo(new[] { 5, 2, 0, 7 }));
        Assert.That(slots, Is.EqualTo(new[] { 0, 1, 0, 2, 1, 3, 2 }));
    }

    [TestCaseSource(nameof(Cases))]
    public void TheKernelMatchesTheStreamedForwardOnTheGatheredSequence(int n, int u, bool returnSequences, bool masked, bool goBackwards)
    {
        bool fusedStep = LstmFusedStep.Enabled;
        try
        {
            // Both steps: the fused one (AVX-512) and the two-pass one (every other machine; forced off here).
            foreach (bool fused in (bool[])[true, false])
            {
                LstmFusedStep.Enabled = fused;
                foreach (bool initial in (bool[])[false, true])
                {
                    float[][] gathered = RunKernel(n, u, returnSequences, masked, goBackwards, initial, onEmbedding: false, threads: 1);
                    foreach (int threads in (int[])[1, 2, 3])
                        AssertBitwise(RunKernel(n, u, returnSequences, masked, goBackwards, initial, onEmbedding: true, threads), gathered,
                            $"{(LstmFusedStep.Applies(n) ? "fused" : "two-pass")} step, initial state {initial}, {threads} thread(s)");
                }
            }
        }
        finally
        {
            LstmFusedStep.Enabled = fusedStep;
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void TheOpMatchesEmbeddingThenLstm(int n, int u, bool returnSequences, bool masked, bool goBackwards)
    {
        (Tensor ids, Tensor table, Tensor w, Tensor r, Tensor b) = Inputs(n, u);
        using (Tape.NoGrad())
        {
            Tensor expected = Ops.Lstm(Ops.Embedding(ids, table, masked), w, r, b, returnSequences, masked ? Ops.PaddingMask(ids) : null,
                goBackwards: goBackwards);
            int runs = LstmInference.OnEmbeddingRuns;
            Tensor fused = Ops.LstmOnEmbedding(ids, table, w, r, b, returnSequences, masked, goBackwards);
            Assert.That(LstmInference.OnEmbeddingRuns, Is.EqualTo(runs + 1), "the projected path ran");
            AssertBitwise([fused.ToArray()], [expected.ToArray()], "op");
        }
    }

    [Test]
    public void ASmallBatchFallsBackToTwoOps()
    {
        (Tensor ids, Tensor table, Tensor w, Tensor r, Tensor b) = Inputs(3, 12);
        using (Tape.NoGrad())
        {
            int runs = LstmInference.OnEmbeddingRuns;
            Tensor fused = Ops.LstmOnEmbedding(ids, table, w, r, b, returnSequences: true);
            Assert.That(LstmInference.OnEmbeddingRuns, Is.EqualTo(runs));
            AssertBitwise([fused.ToArray()], [Ops.Lstm(Ops.Embedding(ids, table), w, r, b, returnSequences: true).ToArray()], "small batch");
        }
    }

    [Test]
    public void AnIdOutsideTheVocabularyIsNamedWithItsRowAndPosition()
    {
        (Tensor ids, Tensor table, Tensor w, Tensor r, Tensor b) = Inputs(8, 12);
        ids.Span[2 * T + 4] = Vocabulary;
        using (Tape.NoGrad())
        {
            var error = Assert.Throws<ArgumentException>(() => Ops.LstmOnEmbedding(ids, table, w, r, b));
            Assert.That(error!.Message, Does.Contain("row 2, position 4").And.Contain($"[0, {Vocabulary})"));
        }
    }

    /// <summary>Ids with repeats and zeros to mask, and the weights, the same for every test of the op.</summary>
    internal static (Tensor Ids, Tensor Table, Tensor W, Tensor R, Tensor B) Inputs(int n, int u)
    {
        Tensor ids = Tensor.Zeros([n, T]);
        var random = new Random(41);
        for (int i = 0; i < ids.Length; i++)
            ids.Span[i] = i % 7 == 3 ? 0 : random.Next(Vocabulary); // repeats, and zeros to mask
        return (ids, Tensor.RandomUniform([Vocabulary, D], -1f, 1f, 42), Tensor.RandomUniform([D, 4 * u], -0.3f, 0.3f, 43),
            Tensor.RandomUniform([u, 4 * u], -0.3f, 0.3f, 44), Tensor.RandomUniform([4 * u], -0.3f, 0.3f, 45));
    }

    private static float[][] RunKernel(int n, int u, bool returnSequences, bool masked, bool goBackwards, bool initial, bool onEmbedding, int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            (Tensor ids, Tensor table, Tensor w, Tensor r, Tensor b) = Inputs(n, u);
            var shape = new LstmShape(n, T, D, u) { GoBackwards = goBackwards };
            int[] idValues = [.. ids.ToArray().Select(v => (int)v)];
            float[] mask = masked ? [.. idValues.Select(id => id == 0 ? 0f : 1f)] : [];
            float[] h0 = initial ? Tensor.RandomUniform([n, u], -1f, 1f, 46).ToArray() : [];
            float[] c0 = initial ? Tensor.RandomUniform([n, u], -1f, 1f, 47).ToArray() : [];
            float[] y = new float[shape.OutputLength(returnSequences)], h = new float[n * u], c = new float[n * u];
            float[] scratch = new float[LstmInference.ScratchLength(shape)];
            if (onEmbedding)
            {
                int[] slots = new int[idValues.Length], distinct = new int[Vocabulary];
                int count = DistinctIds.Number(idValues, new int[Vocabulary], slots, distinct);
                float[] projected = new float[LstmInference.ProjectedLength(shape, count)];
                LstmInference.ForwardOnEmbedding(shape, table.Span, distinct.AsSpan(0, count), slots, w.Span, r.Span, b.Span, mask, h0, c0,
                    y, returnSequences, h, c, projected, scratch);
            }
            else
            {
                float[] x = new float[n * T * D];
                for (int p = 0; p < idValues.Length; p++)
                    table.Span.Slice(idValues[p] * D, D).CopyTo(x.AsSpan(p * D, D));
                LstmInference.Forward(shape, x, w.Span, r.Span, b.Span, mask, h0, c0, y, returnSequences, h, c, scratch);
            }
            return [y, h, c];
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private static void AssertBitwise(float[][] actual, float[][] expected, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(actual[i], Has.Length.EqualTo(expected[i].Length), $"{what}: output {i}");
            for (int j = 0; j < expected[i].Length; j++)
                if (BitConverter.SingleToInt32Bits(actual[i][j]) != BitConverter.SingleToInt32Bits(expected[i][j]))
                    Assert.Fail($"{what}: output {i}, element {j}: {actual[i][j]}, expected {expected[i][j]}");
        }
    }
}
