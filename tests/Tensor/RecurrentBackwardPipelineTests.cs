using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The LSTM's backward pass as a pipeline (<see cref="RecurrentBackwardPipeline"/>): step workers run the chunks of
/// steps while product workers add each finished chunk's weight gradients. Forced on at 2–4 threads (and off at 2),
/// with the chunk forced to a few steps so that many chunks pass through it, every output and gradient must be
/// bitwise what one thread computes; and the plan must pick it where the two stages weigh about the same.
/// </summary>
public class RecurrentBackwardPipelineTests
{
    [TearDown]
    public void RestoreTheRules()
    {
        RecurrentBackwardPipeline.Override = 0;
        RecurrentStepJob.ChunkStepsOverride = 0;
        RecurrentBackwardPipeline.LaneChunkStarting = null;
        RecurrentBackwardPipeline.SharedChunkStarting = null;
        RecurrentBackwardPipeline.SharedRowsOverride = -1;
        RecurrentBackwardPipeline.StepRolesTakeSharedChunks = true;
    }

    // The IMDB seed model's backward on embedded ids at U = 128: per row a step costs 4U·(U + 32 for the cell + 16 for the
    // per-id sums), the products 4U·(U + 1 for db).
    [Test]
    public void PipelinesTheImdbShapeOnTwoWorkersOneStepRoleOneProductRole()
    {
        Assert.That(RecurrentBackwardPipeline.Plan(2, 32, 13, 512.0 * (128 + 32 + 16), 512.0 * 129, 256 * 1024, out int s, out int q, out _), Is.True);
        Assert.That((s, q), Is.EqualTo((1, 1)));
        Assert.That(RecurrentBackwardPipeline.Plan(4, 32, 13, 512.0 * (128 + 32 + 16), 512.0 * 129, 256 * 1024, out s, out q, out _), Is.True);
        Assert.That((s, q), Is.EqualTo((2, 2)), "four workers: two bands of 16 rows, two pieces of each chunk's line");
    }

    [Test]
    public void DoesNotPipelineWithoutSomethingToOverlap()
    {
        Assert.That(RecurrentBackwardPipeline.Plan(1, 32, 13, 100, 100, 256 * 1024, out _, out _, out _), Is.False, "one worker");
        Assert.That(RecurrentBackwardPipeline.Plan(2, 32, 1, 100, 100, 256 * 1024, out _, out _, out _), Is.False, "one chunk: nothing overlaps");
        Assert.That(RecurrentBackwardPipeline.Plan(2, 32, 13, 100, 0, 256 * 1024, out _, out _, out _), Is.False, "no weight gradient wanted");
        // Steps three times the products: on two workers the pipeline takes 3/4 of the work's time, the split passes about 2/3.
        Assert.That(RecurrentBackwardPipeline.Plan(2, 32, 13, 300, 100, 256 * 1024, out _, out _, out _), Is.False, "the steps outweigh the products");
        Assert.That(RecurrentBackwardPipeline.Plan(2, 32, 13, 100, 300, 256 * 1024, out _, out _, out _), Is.False, "the products outweigh the steps");
        // Eight rows make one band at most: on four workers one step role against three product roles.
        Assert.That(RecurrentBackwardPipeline.Plan(4, 8, 13, 100, 100, 256 * 1024, out int s, out int q, out _), Is.False, "one band cannot keep up with three");
        Assert.That((s, q), Is.EqualTo((1, 3)));
    }

    // The shared strip: one 4-row edge strip on the 6×16 kernel when the step role's rows then tile no worse (32 = 5 tiles
    // and a 2-row edge on the 4-row kernel, at most 34 rows' time; 28 + 4 = 32), one 8-row tile on the 8×32 kernel (28 rows: 32 rows'
    // time either way); none where it would cost a step role more tiles (30 = 5 tiles, 26 + 4 = 32 rows' time; two step
    // roles: 16 rows each, 12 + 4 after it) or leave a step role under 8 rows.
    [TestCase("Vector256", 32, 1, 4)]
    [TestCase("Vector256", 64, 1, 4)]
    [TestCase("Vector256", 30, 1, 0)]
    [TestCase("Vector256", 32, 2, 0)]
    [TestCase("Vector256", 10, 1, 0)]
    [TestCase("Vector512", 32, 1, 8)]
    [TestCase("Vector512", 28, 1, 8)]
    [TestCase("Vector512", 12, 1, 0)]
    public void TheSharedStripIsOneRowTileWhereTheStepRolesRowsTileNoWorse(string kernel, int batch, int stepRoles, int rows) =>
        Assert.That(RecurrentBackwardPipeline.SharedRows(Enum.Parse<GemmKernelKind>(kernel), batch, stepRoles, 256 * 1024, 512 * 1024), Is.EqualTo(rows));

    // IMDB's Rᵀ (4U×U, 256 KB) fills half of a 512 KB L2; text-train's [Rᵀ | Wᵀ] (512 KB) all of it: no strip then.
    [Test]
    public void NoSharedStripWhenTheStepsOperandFillsMoreThanHalfOfL2()
    {
        Assert.That(RecurrentBackwardPipeline.SharedRows(GemmKernelKind.Vector256, 32, 1, 256 * 1024, 512 * 1024), Is.EqualTo(4));
        Assert.That(RecurrentBackwardPipeline.SharedRows(GemmKernelKind.Vector256, 32, 1, 512 * 1024, 512 * 1024), Is.EqualTo(0));
        Assert.That(RecurrentBackwardPipeline.SharedRows(GemmKernelKind.Vector512, 32, 1, 512 * 1024, 2048 * 1024), Is.EqualTo(8));
    }

    [Test]
    public void TiledRowsRoundsUpToTheKernelsTilesAndOnTheSixBySixteenKernelRunsARestOfUpToFourAsFour()
    {
        Assert.That(RecurrentBackwardPipeline.TiledRows(GemmKernelKind.Vector256, 32), Is.EqualTo(34));
        Assert.That(RecurrentBackwardPipeline.TiledRows(GemmKernelKind.Vector256, 28), Is.EqualTo(28));
        Assert.That(RecurrentBackwardPipeline.TiledRows(GemmKernelKind.Vector256, 35), Is.EqualTo(36));
        Assert.That(RecurrentBackwardPipeline.TiledRows(GemmKernelKind.Vector512, 30), Is.EqualTo(32));
        Assert.That(RecurrentBackwardPipeline.TiledRows(GemmKernelKind.Vector512, 24), Is.EqualTo(24));
    }

    /// <summary>
    /// The shared strip (3 rows of 24 here) run by the step role while the product role is slowed in every lane, and by
    /// the product role alone with the step roles told to leave it: each of its chunks after the first must run once, in
    /// order, and the bits must be one thread's, plain and on embedded ids.
    /// </summary>
    [TestCase(true, false)]
    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public void TheSharedStripsChunksRunOnceEachInOrderWhicheverRoleTakesThem(bool stepRolesTakeIt, bool onEmbeddedIds)
    {
        int chunkSteps = onEmbeddedIds ? 2 : 3;
        Pass pass = onEmbeddedIds ? OnEmbeddedIds : PlainLstm;
        RecurrentStepJob.ChunkStepsOverride = chunkSteps;
        float[] one = pass(1, pipeline: 0, out _);
        var ran = new System.Collections.Concurrent.ConcurrentQueue<(int Worker, int Chunk)>();
        RecurrentBackwardPipeline.SharedRowsOverride = 3;
        RecurrentBackwardPipeline.StepRolesTakeSharedChunks = stepRolesTakeIt;
        RecurrentBackwardPipeline.SharedChunkStarting = (worker, chunk) => ran.Enqueue((worker, chunk));
        if (stepRolesTakeIt)
            RecurrentBackwardPipeline.LaneChunkStarting = (_, _, _) => Thread.Sleep(2);
        float[] two = pass(2, pipeline: 1, out int runs);
        Assert.That(runs, Is.EqualTo(1), "the pipeline ran");
        AssertBitwise(two, one, "2 threads with a shared strip");
        int chunks = onEmbeddedIds ? 5 : 7; // T = 9 in chunks of 2, T = 20 in chunks of 3
        Assert.That(ran.Select(r => r.Chunk), Is.EqualTo(Enumerable.Range(1, chunks - 1)), "the strip's chunks after the first, once each, in order");
        if (stepRolesTakeIt)
            Assert.That(ran.Count(r => r.Worker == 0), Is.GreaterThan(0), "the step role took the strip while the product role was slow");
        else
            Assert.That(ran.Select(r => r.Worker).Distinct(), Is.EqualTo(new[] { 1 }), "the product role took every chunk of the strip");
    }

    [TestCase(2, 1)]
    [TestCase(3, 1)]
    [TestCase(4, 1)]
    [TestCase(2, -1)]
    public void ThePlainLstmGivesOneThreadsBits(int threads, int pipeline) =>
        AssertOneThreadsBits(PlainLstm, chunkSteps: 3, threads, pipeline); // T = 20: seven chunks, the last of two steps

    [TestCase(2, 1)]
    [TestCase(3, 1)]
    [TestCase(4, 1)]
    [TestCase(2, -1)]
    public void TheLstmOnEmbeddedIdsGivesOneThreadsBits(int threads, int pipeline) =>
        AssertOneThreadsBits(OnEmbeddedIds, chunkSteps: 2, threads, pipeline); // T = 9: five chunks, the last of one step

    // Without an initial state h₋₁ = 0 adds nothing to dR, and at T = 19 in chunks of 3 the last chunk is step 0 alone:
    // a chunk with no dR rows, whose line is still cut where the others' are.
    [TestCase(2)]
    [TestCase(3)]
    public void ThePlainLstmWithoutAnInitialStateGivesOneThreadsBits(int threads) =>
        AssertOneThreadsBits((int th, int pipeline, out int runs) => PlainLstm(th, pipeline, out runs, t: 19, initialState: false),
            chunkSteps: 3, threads, pipeline: 1);

    /// <summary>
    /// The step role, done with its steps, takes lanes too. Each worker, at the first chunk it starts, waits until the other
    /// has started one (the product role while it holds a lane, so the step role finds the other lane free once its steps
    /// are done): both roles then hold lanes in every run, however the host schedules them, and every lane must still add
    /// every chunk exactly once and in order, whoever holds it, with one thread's bits.
    /// </summary>
    [Test]
    public void AStepRoleDoneWithItsStepsTakesTheLanesLeftInOrder()
    {
        RecurrentStepJob.ChunkStepsOverride = 3;
        float[] one = PlainLstm(1, pipeline: 0, out _);
        var started = new System.Collections.Concurrent.ConcurrentQueue<(int Worker, int Lane, int Chunk)>();
        using var stepRoleStarted = new ManualResetEventSlim();
        using var productRoleStarted = new ManualResetEventSlim();
        bool metTheOther = true;
        RecurrentBackwardPipeline.LaneChunkStarting = (worker, lane, chunk) =>
        {
            started.Enqueue((worker, lane, chunk));
            (worker == 0 ? stepRoleStarted : productRoleStarted).Set();
            if (!(worker == 0 ? productRoleStarted : stepRoleStarted).Wait(TimeSpan.FromSeconds(10)))
            {
                metTheOther = false; // and no more waiting: the test has failed
                stepRoleStarted.Set();
                productRoleStarted.Set();
            }
        };
        float[] two = PlainLstm(2, pipeline: 1, out int runs);
        Assert.That(runs, Is.EqualTo(1), "the pipeline ran");
        Assert.That(metTheOther, Is.True, "each role started a lane's chunk while the other held one");
        AssertBitwise(two, one, "2 threads, both roles holding lanes");
        // T = 20 in chunks of 3: seven chunks; two lanes (one product role, one step role that helps).
        var byLane = started.GroupBy(s => s.Lane).OrderBy(g => g.Key).ToArray();
        Assert.That(byLane.Select(g => g.Key), Is.EqualTo(new[] { 0, 1 }), "the lanes");
        foreach (var lane in byLane)
            Assert.That(lane.Select(s => s.Chunk), Is.EqualTo(Enumerable.Range(0, 7)), $"lane {lane.Key}'s chunks, in order, once each");
        Assert.That(started.Count(s => s.Worker == 0), Is.GreaterThan(0), "the step role took lanes once its steps were done");
        Assert.That(started.Count(s => s.Worker == 1), Is.GreaterThan(0), "the product role took lanes");
    }

    /// <summary>
    /// Lane 0 held back at its chunk 1 until lane 1 has started its last chunk (step 0 alone, without an initial state:
    /// no dR rows, and shorter than the others): the lanes' cuts must not move with the chunk's rows, or lane 1 would add
    /// some of lane 0's columns of chunk 6 before chunks 1–5 and the bits would differ from one thread's.
    /// </summary>
    [Test]
    public void ALaneFarAheadOfAnotherStillAddsEachColumnsChunksInOrder()
    {
        RecurrentStepJob.ChunkStepsOverride = 3;
        Pass pass = (int th, int pipeline, out int runs) => PlainLstm(th, pipeline, out runs, t: 19, initialState: false);
        float[] one = pass(1, pipeline: 0, out _);
        using var lastChunkStarted = new ManualResetEventSlim();
        bool heldBack = false;
        RecurrentBackwardPipeline.LaneChunkStarting = (worker, lane, chunk) =>
        {
            if (lane == 1 && chunk == 6)
                lastChunkStarted.Set();
            if (lane == 0 && chunk == 1)
            {
                heldBack = lastChunkStarted.Wait(TimeSpan.FromSeconds(10));
                Thread.Sleep(5); // lane 1's last chunk done meanwhile
            }
        };
        float[] two = pass(2, pipeline: 1, out int runs);
        Assert.That(runs, Is.EqualTo(1), "the pipeline ran");
        Assert.That(heldBack, Is.True, "lane 1 reached its last chunk while lane 0 was at its second");
        AssertBitwise(two, one, "2 threads, lane 0 held back");
    }

    /// <summary>
    /// A worker that throws while it holds a lane never gives it back: the others must give up (the pool reports the
    /// exception) instead of spinning forever on it, whether the lane's last holder was the product role or the step role.
    /// </summary>
    [TestCase(0, 0)]
    [TestCase(1, 3)]
    [TestCase(0, 6)]
    public void AWorkerThatFailsInALaneStopsThePassInsteadOfHangingTheOthers(int failingLane, int failingChunk)
    {
        RecurrentBackwardPipeline.LaneChunkStarting = (worker, lane, chunk) =>
        {
            if (lane == failingLane && chunk == failingChunk)
                throw new InvalidOperationException("a lane failed");
        };
        // On a thread of its own, so that a hang fails the test instead of stalling the run (the overrides are per thread).
        Task<Exception?> run = Task.Run(() =>
        {
            RecurrentStepJob.ChunkStepsOverride = 3;
            try
            {
                PlainLstm(2, pipeline: 1, out _);
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
            finally
            {
                RecurrentStepJob.ChunkStepsOverride = 0;
                RecurrentBackwardPipeline.Override = 0;
            }
        });
        Assert.That(run.Wait(TimeSpan.FromSeconds(30)), Is.True, "the pass ended");
        Exception? e = run.Result;
        while (e is not (null or InvalidOperationException) && e.InnerException != null)
            e = e.InnerException;
        Assert.That(e, Is.InstanceOf<InvalidOperationException>().With.Message.EqualTo("a lane failed"), "the lane's exception");
        RecurrentBackwardPipeline.LaneChunkStarting = null;
        RecurrentStepJob.ChunkStepsOverride = 3;
        AssertBitwise(PlainLstm(2, pipeline: 1, out _), PlainLstm(1, pipeline: 0, out _), "the next pass, on the same pool");
    }

    private delegate float[] Pass(int threads, int pipeline, out int runs);

    /// <summary>The pass at <paramref name="threads"/> with the pipeline forced on (1) or off (−1) against one thread, bit for bit.</summary>
    private static void AssertOneThreadsBits(Pass pass, int chunkSteps, int threads, int pipeline)
    {
        RecurrentStepJob.ChunkStepsOverride = chunkSteps;
        float[] one = pass(1, pipeline: 0, out _);
        float[] many = pass(threads, pipeline, out int runs);
        Assert.That(runs, Is.EqualTo(pipeline > 0 ? 1 : 0), "whether the pipeline ran");
        AssertBitwise(many, one, $"{threads} threads");
    }

    /// <summary>The pipeline's gradients also agree with the reference LSTM of the op tests (within rounding).</summary>
    [Test]
    public void MatchesTheReferenceWhenPipelined()
    {
        RecurrentStepJob.ChunkStepsOverride = 2;
        RecurrentBackwardPipeline.Override = 1;
        using (Parallelism.LimitThreads(2))
            new RecurrentOpTests().FastLstmMatchesTheReference(16, 30, 64, 96, returnSequences: true, masked: true);
    }

    /// <summary>An LSTM with dX, both dropouts, a mask, an initial state and every sequence returned: outputs and all gradients.</summary>
    private static float[] PlainLstm(int threads, int pipeline, out int runs) => PlainLstm(threads, pipeline, out runs, t: 20, initialState: true);

    private static float[] PlainLstm(int threads, int pipeline, out int runs, int t, bool initialState)
    {
        const int n = 24, d = 40, u = 48;
        using (Parallelism.LimitThreads(threads))
        {
            RecurrentBackwardPipeline.Override = pipeline;
            int before = RecurrentBackwardPipeline.Runs;
            var x = Tensor.RandomUniform([n, t, d], -1, 1, 11).AsParameter();
            var w = Tensor.RandomUniform([d, 4 * u], -0.2f, 0.2f, 12).AsParameter();
            var r = Tensor.RandomUniform([u, 4 * u], -0.2f, 0.2f, 13).AsParameter();
            var b = Tensor.RandomUniform([4 * u], -0.5f, 0.5f, 14).AsParameter();
            var mask = Tensor.Ones(n, t);
            for (int i = 0; i < mask.Length; i += 7)
                mask.Span[i] = 0f;
            var state = new LstmState(n, u);
            Tensor.RandomUniform([n, u], -0.5f, 0.5f, 15).Span.CopyTo(state.Hidden.Span);
            Tensor.RandomUniform([n, u], -0.5f, 0.5f, 16).Span.CopyTo(state.Cell.Span);
            var random = new RandomStream(17);
            Tensor y = Ops.Lstm(x, w, r, b, returnSequences: true, mask, initialState ? state : null, goBackwards: true,
                dropoutMask: Ops.DropoutMask(n, d, 0.2f, random), recurrentDropoutMask: Ops.DropoutMask(n, u, 0.3f, random));
            Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform([n, t, u], -1, 1, 18))).Backward();
            runs = RecurrentBackwardPipeline.Runs - before;
            return [.. y.ToArray(), .. x.Grad!.ToArray(), .. w.Grad!.ToArray(), .. r.Grad!.ToArray(), .. b.Grad!.ToArray()];
        }
    }

    /// <summary>The LSTM on embedded ids (masked, every sequence returned): the table's, W's, R's and b's gradients.</summary>
    private static float[] OnEmbeddedIds(int threads, int pipeline, out int runs)
    {
        (Tensor ids, Tensor table, Tensor w, Tensor r, Tensor b) = LstmOnEmbeddingTests.Inputs(32, 40);
        foreach (Tensor p in (Tensor[])[table, w, r, b])
            p.RequiresGrad = true;
        using (Parallelism.LimitThreads(threads))
        {
            RecurrentBackwardPipeline.Override = pipeline;
            int before = RecurrentBackwardPipeline.Runs;
            Tensor y = Ops.LstmOnEmbedding(ids, table, w, r, b, returnSequences: true, maskZero: true);
            Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform(y.Shape.ToArray(), -1f, 1f, 19))).Backward();
            runs = RecurrentBackwardPipeline.Runs - before;
            return [.. y.ToArray(), .. table.Grad!.ToArray(), .. w.Grad!.ToArray(), .. r.Grad!.ToArray(), .. b.Grad!.ToArray()];
        }
    }

    private static void AssertBitwise(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        Assert.That(expected, Has.Some.Not.EqualTo(0f), "the values are not all zero");
        for (int j = 0; j < expected.Length; j++)
            if (BitConverter.SingleToInt32Bits(actual[j]) != BitConverter.SingleToInt32Bits(expected[j]))
                Assert.Fail($"{what}, element {j}: {actual[j]}, expected {expected[j]}");
    }
}
