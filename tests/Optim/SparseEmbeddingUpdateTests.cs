using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// An embedding's gradient records the rows it touched (<see cref="Tensor.TouchedGradientRows"/>); plain SGD then
/// updates and zeroes only those rows. Each test trains two identical tables, one with the row hint and one whose
/// hint is dropped (any dense writer's <see cref="Tensor.EnsureGrad"/> drops it) — the dense update — and compares
/// the weights bit for bit.
/// </summary>
public class SparseEmbeddingUpdateTests
{
    private const int Vocabulary = 300, Width = 12;

    // Batches of ids (N = 2, T = 5) with repeated ids, an id at both ends of the table and padding id 0.
    private static readonly float[][] Batches =
    [
        [1, 7, 7, 299, 0, 64, 65, 66, 7, 130],
        [298, 0, 0, 5, 5, 5, 63, 64, 200, 1],
        [7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    ];

    /// <summary>Steps of loss = Σ (embedding(ids) · probe)² with the optimizer; <paramref name="dense"/> drops the row hint before each update.</summary>
    private static Tensor Train(Func<Optimizer> create, bool dense, bool maskZero = false, IGradientReducer? reducer = null)
    {
        Tensor table = Tensor.RandomNormal([Vocabulary, Width], std: 0.5f, seed: 3).AsParameter("table");
        Tensor probe = Tensor.RandomNormal([Width], seed: 4);
        Optimizer optimizer = create();
        optimizer.GradientReducer = reducer;
        for (int step = 0; step < 6; step++)
        {
            Tensor ids = Tensor.FromArray(Batches[step % Batches.Length], 2, 5);
            Tensor y = Ops.Embedding(ids, table, maskZero);
            Ops.Sum(Ops.Square(y * probe)).Backward();
            if (dense)
                table.EnsureGrad();
            else
                Assert.That(table.TouchedGradientRows, Is.Not.Null, "an embedding-only gradient knows its rows");
            optimizer.Step([table]);
            Optimizer.ZeroGradients([table]);
            Assert.That(table.Grad!.ToArray(), Is.All.Zero, "zeroing cleared every row");
        }
        return table;
    }

    private static void AssertBitwiseEqual(Tensor actual, Tensor expected) =>
        Assert.That(actual.ToArray().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.ToArray().Select(BitConverter.SingleToInt32Bits)));

    [Test]
    public void SgdOnTheTouchedRowsEqualsTheDenseUpdate([Values] bool maskZero)
    {
        Tensor sparse = Train(() => new Sgd(0.1f), dense: false, maskZero);
        Tensor dense = Train(() => new Sgd(0.1f), dense: true, maskZero);
        AssertBitwiseEqual(sparse, dense);
        Tensor untrained = Tensor.RandomNormal([Vocabulary, Width], std: 0.5f, seed: 3);
        Assert.That(sparse.ToArray().Where((w, i) => w != untrained.Span[i]).Count(), Is.GreaterThan(0), "training moved the weights");
    }

    [Test]
    public void AdagradOnTheTouchedRowsEqualsTheDenseUpdate()
    {
        // a + 0 = a and θ − η·0/√(a + ε) = θ: Adagrad, too, may skip the untouched rows.
        Tensor sparse = Train(() => new Adagrad(0.1f) { ClipValue = 0.05f }, dense: false);
        AssertBitwiseEqual(sparse, Train(() => new Adagrad(0.1f) { ClipValue = 0.05f }, dense: true));
    }

    [Test]
    public void ClippedSgdEqualsTheDenseUpdate()
    {
        AssertBitwiseEqual(Train(() => new Sgd(0.1f) { ClipValue = 0.05f, GlobalClipNorm = 0.5f }, dense: false),
            Train(() => new Sgd(0.1f) { ClipValue = 0.05f, GlobalClipNorm = 0.5f }, dense: true));
    }

    [Test]
    public void TheRowsAreTheDistinctIdsOfTheBatch()
    {
        Tensor table = Tensor.RandomNormal([Vocabulary, Width], seed: 3).AsParameter("table");
        Ops.Sum(Ops.Embedding(Tensor.FromArray(Batches[1], 2, 5), table, maskZero: true)).Backward();
        int[] expected = [.. Batches[1].Where(id => id != 0).Select(id => (int)id).Distinct().Order()];
        var runs = new List<int>();
        for (int row = 0; table.TouchedGradientRows!.NextRun(row, out int start, out int length); row = start + length)
            runs.AddRange(Enumerable.Range(start, length));
        Assert.That(runs, Is.EqualTo(expected));
        Assert.That(table.TouchedGradientRows.Count, Is.EqualTo(expected.Length));
        Assert.That(Enumerable.Range(0, Vocabulary).Where(table.TouchedGradientRows.Contains), Is.EqualTo(expected));
    }

    [Test]
    public void ADenseContributionDropsTheRowHint()
    {
        Tensor table = Tensor.RandomNormal([Vocabulary, Width], seed: 3).AsParameter("table");
        Tensor ids = Tensor.FromArray(Batches[0], 2, 5);
        Tensor loss = Ops.Sum(Ops.Embedding(ids, table)) + Ops.Sum(table * table); // the table also used densely
        loss.Backward();
        Assert.That(table.TouchedGradientRows, Is.Null);
    }

    [Test]
    public void AdamKeepsKerasSemanticsAndUpdatesEveryRow()
    {
        // Adam's moments decay on every step, so rows untouched by a batch still move: the update stays dense.
        Tensor sparse = Train(() => new Adam(0.01f), dense: false);
        AssertBitwiseEqual(sparse, Train(() => new Adam(0.01f), dense: true));
    }

    [Test]
    public void RegularizedSgdUpdatesEveryRow()
    {
        Tensor sparse = Train(() => new Sgd(0.1f) { L2 = 0.01f }, dense: false);
        AssertBitwiseEqual(sparse, Train(() => new Sgd(0.1f) { L2 = 0.01f }, dense: true));
        Tensor untrained = Tensor.RandomNormal([Vocabulary, Width], std: 0.5f, seed: 3);
        Assert.That(sparse[250, 0], Is.Not.EqualTo(untrained[250, 0]), "an id never seen still decays");
    }

    [Test]
    public void DataParallelReductionFillingOtherRowsIsApplied()
    {
        // Another process's batch touched other rows: the reduced gradient has them, and the update must apply them.
        var reducer = new OtherProcessRows();
        Tensor sparse = Train(() => new Sgd(0.1f), dense: false, reducer: reducer);
        Tensor dense = Train(() => new Sgd(0.1f), dense: true, reducer: new OtherProcessRows());
        AssertBitwiseEqual(sparse, dense);
        Tensor untrained = Tensor.RandomNormal([Vocabulary, Width], std: 0.5f, seed: 3);
        Assert.That(sparse[250, 3], Is.Not.EqualTo(untrained[250, 3]), "row 250 came from the other process");
    }

    /// <summary>Adds a gradient into row 250, which no local batch touches, as an all-reduce would bring in.</summary>
    private sealed class OtherProcessRows : IGradientReducer
    {
        public void Reduce(IReadOnlyList<Tensor> parameters)
        {
            foreach (Tensor p in parameters)
                p.Grad!.Span.Slice(250 * Width, Width).Fill(0.5f);
        }
    }
}
