using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The recurrent backward passes in chunks of steps (<see cref="RecurrentStepJob.ChunkSteps(int, int, long)"/>): after
/// each chunk the weight gradients (and a GRU's or SimpleRNN's dX) of its rows. The tests' shapes are small enough to
/// fit one chunk, so here the chunk is forced to a few steps (1, 2, 3: T not a multiple of the chunk, a first chunk
/// holding step 0 alone) and the LSTM's, GRU's and SimpleRNN's reference, gradient-check and determinism tests run
/// again. The size the rule picks on real caches: <see cref="RecurrentBackwardChunkSizeTests"/>.
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
[TestFixture(3)]
public class RecurrentBackwardChunkTests(int chunkSteps)
{
    [SetUp]
    public void ForceTheChunk() => RecurrentStepJob.ChunkStepsOverride = chunkSteps;

    [TearDown]
    public void RestoreTheRule() => RecurrentStepJob.ChunkStepsOverride = 0;

    [TestCase(4, 9, 7, 13, false, false)]
    [TestCase(16, 30, 64, 96, false, false)]
    [TestCase(5, 12, 10, 32, true, true)]
    public void MatchesTheReference(int n, int steps, int d, int units, bool returnSequences, bool masked)
        => new RecurrentOpTests().FastLstmMatchesTheReference(n, steps, d, units, returnSequences, masked);

    [TestCase(5, 12, 10, 29, true, true, true, true)]
    [TestCase(9, 8, 7, 13, false, false, true, true)]
    public void MatchesTheReferenceGoingBackwardsWithDropout(int n, int steps, int d, int units, bool returnSequences,
        bool masked, bool goBackwards, bool dropout)
        => new RecurrentOpTests().FastLstmMatchesTheReferenceGoingBackwardsAndWithDropout(n, steps, d, units, returnSequences,
            masked, goBackwards, dropout);

    [Test]
    public void GradientCheckWithDropoutAndAMask() => new RecurrentOpTests().LstmGradientCheckGoingBackwardsWithDropoutAndAMask(true);

    [Test]
    public void GradientCheckFromACarriedState() => new RecurrentOpTests().LstmGradientCheckFromACarriedState();

    [TestCase(false, false)]
    [TestCase(true, true)]
    public void GradientsFlowIntoTheInitialStates(bool returnSequences, bool masked)
        => new RecurrentStateOpTests().GradientsFlowThroughTheStatesAndIntoTheInitialStates("lstm", returnSequences, masked, goBackwards: true);

    [Test]
    public void TheSameBitsAtOneAndTwoThreads() => new RecurrentOpTests().LstmIsBitwiseIdenticalAtOneAndTwoThreads();

    [Test]
    public void StateGradientsTheSameBitsAtOneAndManyThreads() => new RecurrentStateOpTests().StateGradientsAreIdenticalAtOneAndManyThreads("lstm");

    [TestCase(8, 40, true, true)]
    [TestCase(37, 12, false, true)]
    [TestCase(3, 40, true, false)]
    public void OnEmbeddedIdsMatchesEmbeddingThenLstm(int n, int u, bool returnSequences, bool goBackwards)
        => new LstmOnEmbeddingTrainingTests().TheRecordedOpMatchesEmbeddingThenLstm(n, u, returnSequences, masked: true, goBackwards);

    [TestCase(8, 9, 12, false, true, true, true, true, 2, true)] // two backward calls accumulate
    [TestCase(8, 1, 12, true, true, true, true, true, 1, false)] // T = 1
    public void OnEmbeddedIdsEdgeCases(int n, int t, int u, bool oneId, bool table, bool kernel, bool rec, bool bias, int backwards, bool masked)
        => new LstmOnEmbeddingEdgeCaseTests().MatchesTheTwoOps(n, t, u, oneId, table, kernel, rec, bias, backwards, masked);

    [TestCase(4, 9, 7, 13, false, false, false, false)]
    [TestCase(5, 12, 10, 29, true, true, true, true)]
    [TestCase(8, 20, 33, 40, true, false, true, false)]
    public void GruAndSimpleRnnMatchTheReferences(int n, int steps, int d, int units, bool returnSequences, bool masked, bool goBackwards, bool dropout)
        => new GruAndSimpleRnnOpTests().FastKernelsMatchTheReferences(n, steps, d, units, returnSequences, masked, goBackwards, dropout);

    [Test]
    public void GruAndSimpleRnnGradientChecksWithAMaskDropoutAndACarriedState()
        => new GruAndSimpleRnnOpTests().GradientChecksWithAMaskDropoutAndACarriedState(returnSequences: true);

    [Test]
    public void GruAndSimpleRnnTheSameBitsAtOneAndTwoThreads() => new GruAndSimpleRnnOpTests().BitwiseIdenticalAtOneAndTwoThreads();

    [TestCase("gru")]
    [TestCase("rnn")]
    public void GruAndSimpleRnnGradientsFlowIntoTheInitialState(string kind)
    {
        new RecurrentStateOpTests().GradientsFlowThroughTheStatesAndIntoTheInitialStates(kind, returnSequences: true, masked: true, goBackwards: false);
        new RecurrentStateOpTests().StateGradientsAreIdenticalAtOneAndManyThreads(kind);
    }

    /// <summary>Chunked and in one chunk, the gradients agree within rounding (only the order of the weight sums differs).</summary>
    [Test]
    public void AgreesWithOneChunk()
    {
        float[] chunked = Gradients();
        RecurrentStepJob.ChunkStepsOverride = 1000;
        float[] whole = Gradients();
        Assert.That(chunked, Has.Length.EqualTo(whole.Length));
        for (int i = 0; i < whole.Length; i++)
            Assert.That(chunked[i], Is.EqualTo(whole[i]).Within(1e-4f + 1e-4f * Math.Abs(whole[i])), $"element {i}");
        Assert.That(chunked, Is.Not.EqualTo(new float[whole.Length]).AsCollection, "the gradients are not all zero");
    }

    private static float[] Gradients()
    {
        var x = Tensor.RandomUniform([6, 11, 5], -1, 1, 1).AsParameter();
        var w = Tensor.RandomUniform([5, 36], -0.4f, 0.4f, 2).AsParameter();
        var r = Tensor.RandomUniform([9, 36], -0.4f, 0.4f, 3).AsParameter();
        var b = Tensor.RandomUniform([36], -0.5f, 0.5f, 4).AsParameter();
        Tensor y = Ops.Lstm(x, w, r, b, returnSequences: true);
        Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform([6, 11, 9], -1, 1, 5))).Backward();
        return [.. x.Grad!.ToArray(), .. w.Grad!.ToArray(), .. r.Grad!.ToArray(), .. b.Grad!.ToArray()];
    }
}

/// <summary>The chunk's size from the caches of the cores the kernels run on (tests/Tensor/CpuCaches).</summary>
public class RecurrentBackwardChunkSizeTests
{
    private static CpuCaches Recorded(string machine) =>
        CpuCaches.FromSysfs(Path.Combine(AppContext.BaseDirectory, "Tensor", "CpuCaches", machine))!;

    // The IMDB seed model (U = 128, 4U = 512 gate columns: 2 KB of dZ per row): a chunk's dZ about the size of L2.
    [TestCase("zen4-epyc-vm", 32, 200, 16)]               // 1 MB L2: 512 rows
    [TestCase("zen5-epyc-9005", 32, 200, 16)]             // 1 MB L2
    [TestCase("sapphire-rapids-xeon-8480", 32, 200, 32)]  // 2 MB L2: 1,024 rows
    [TestCase("zen4-epyc-vm", 256, 200, 2)]               // inference-sized batch
    [TestCase("zen4-epyc-vm", 4096, 200, 1)]              // a step's rows past L2: one step per chunk
    [TestCase("sapphire-rapids-xeon-8480", 32, 10, 10)]   // fewer steps than a chunk: one chunk
    public void TheChunkFillsL2(string machine, int batch, int steps, int expected)
    {
        var shape = new LstmShape(batch, steps, 128, 128);
        Assert.That(LstmChunkSteps(shape, Recorded(machine)), Is.EqualTo(expected));
    }

    /// <summary>The LSTM's chunk: its dZ rows, 4U floats each.</summary>
    private static int LstmChunkSteps(LstmShape shape, CpuCaches caches) =>
        RecurrentStepJob.ChunkSteps(shape.Batch, shape.Steps, (long)shape.GateWidth * sizeof(float), caches);

    [Test]
    public void AGrusTwoGateGradientsCountTogether()
    {
        // U = 128: dX̂ and dĤ, 3U = 384 floats each, 3 KB a row: 341 rows of a 1 MB L2, 10 steps at N = 32.
        Assert.That(RecurrentStepJob.ChunkSteps(32, 200, 2L * 384 * sizeof(float), Recorded("zen4-epyc-vm")), Is.EqualTo(10));
        Assert.That(RecurrentStepJob.ChunkSteps(32, 200, 2L * 384 * sizeof(float), Recorded("sapphire-rapids-xeon-8480")), Is.EqualTo(21));
    }

    [Test]
    public void ASmallLayerStillGetsAWholeGemmSlabOfRows()
    {
        // U = 8: 4U·4 bytes = 128 bytes a row, so L2 alone would ask for 8,192 rows; at least KC rows (256 on a
        // 32 KB L1d) and at most T steps whatever the caches.
        var shape = new LstmShape(32, 1000, 8, 8);
        Assert.That(LstmChunkSteps(shape, Recorded("zen4-epyc-vm")), Is.EqualTo(1024 * 1024 / 128 / 32));
        Assert.That(LstmChunkSteps(shape, new CpuCaches(32 * 1024, 4 * 1024, 0)), Is.EqualTo(256 / 32), "a tiny L2: one KC slab");
    }
}
