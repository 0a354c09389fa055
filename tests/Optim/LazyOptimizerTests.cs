using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// Lazy (sparse-row) optimizers (<see cref="Optimizer.Lazy"/>): only the rows of an embedding table the step touched
/// update their weights and state. Checked by hand for Adam, against the dense update where every row is touched,
/// bit for bit on untouched rows, and across thread counts.
/// </summary>
public class LazyOptimizerTests
{
    /// <summary>Every built-in optimizer with state, lazy; <see cref="Dense"/> gives the same one dense.</summary>
    public static IEnumerable<TestCaseData> LazyCases()
    {
        yield return Case("MomentumClassical", lazy => new Momentum(0.1f, 0.9f, lazy: lazy));
        yield return Case("MomentumExponentialAverage", lazy => new Momentum(0.1f, 0.9f, MomentumForm.ExponentialAverage, lazy: lazy));
        yield return Case("Nesterov", lazy => new Nesterov(0.1f, 0.9f, lazy: lazy));
        yield return Case("Adagrad", lazy => new Adagrad(0.1f, lazy: lazy));
        yield return Case("RmsProp", lazy => new RmsProp(0.01f, lazy: lazy));
        yield return Case("RmsPropCenteredMomentum", lazy => new RmsProp(0.01f, momentum: 0.9f, centered: true, lazy: lazy));
        yield return Case("RmsPropEpsilonOutsideRoot", lazy => new RmsProp(0.01f, lazy: lazy) { EpsilonOutsideSquareRoot = true });
        yield return Case("Adam", lazy => new Adam(0.01f, lazy: lazy));
        yield return Case("AdamAmsGrad", lazy => new Adam(0.01f, beta2: 0.5f, amsgrad: true, lazy: lazy));
        yield return Case("AdamW", lazy => new AdamW(0.01f, weightDecay: 0.1f, lazy: lazy));
        yield return Case("AdamClipped", lazy => new Adam(0.01f, lazy: lazy) { ClipValue = 0.05f, GlobalClipNorm = 0.5f });
    }

    private static TestCaseData Case(string name, Func<bool, Optimizer> create) => new TestCaseData(create).SetArgDisplayNames(name);

    /// <summary>
    /// Sets the gradient of <paramref name="table"/> as an embedding's backward leaves it: zero except the given rows,
    /// which are recorded as touched (<see cref="Tensor.TouchedGradientRows"/>).
    /// </summary>
    internal static void SetRowGradients(Tensor table, params (int Row, float[] Values)[] rows)
    {
        table.ZeroGrad();
        Tensor grad = table.EnsureGradForRows([.. rows.Select(r => r.Row)], skippedRow: -1);
        grad.Span.Clear();
        int width = table.Length / table.Shape[0];
        foreach ((int row, float[] values) in rows)
            values.CopyTo(grad.Span.Slice(row * width, width));
    }

    private static int[] Bits(Tensor t) => [.. t.ToArray().Select(BitConverter.SingleToInt32Bits)];

    private static int[] Bits(ReadOnlyMemory<float> values) => [.. values.ToArray().Select(BitConverter.SingleToInt32Bits)];

    [Test]
    public void LazyAdamTwoStepsByHand()
    {
        // η = 0.1, β₁ = 0.5, β₂ = 0.75, ε = 0; table of 3 rows × 1. Step 1 touches rows 0 and 1, step 2 rows 1 and 2.
        //   t = 1: α₁ = 0.1·√(1−0.75)/(1−0.5) = 0.1
        //     row 0, g = 2:  m = 1,    v = 1,    θ = 1 − 0.1·1/1 = 0.9
        //     row 1, g = −1: m = −0.5, v = 0.25, θ = 2 − 0.1·(−0.5)/0.5 = 2.1
        //   t = 2: α₂ = 0.1·√(1−0.75²)/(1−0.5²) = 0.0881917104 (the global t, though row 2 is new)
        //     row 1, g = 3:  m = 0.5·(−0.5) + 0.5·3 = 1.25, v = 0.75·0.25 + 0.25·9 = 2.4375, θ = 2.1 − α₂·1.25/√2.4375 = 2.0293901212
        //     row 2, g = 4:  m = 2, v = 4, θ = 3 − α₂·2/2 = 2.9118082896
        //     row 0 untouched: θ = 0.9, m = 1, v = 1 (dense Adam would decay them)
        Tensor table = Tensor.FromArray([1f, 2f, 3f], 3, 1).AsParameter("table");
        var adam = new Adam(0.1f, beta1: 0.5f, beta2: 0.75f, epsilon: 0f, lazy: true);
        Assert.That(adam.Lazy, Is.True);

        SetRowGradients(table, (0, [2f]), (1, [-1f]));
        adam.Step([table]);
        Assert.That(table.ToArray(), Is.EqualTo(new[] { 0.9f, 2.1f, 3f }).Within(1e-6f));
        Assert.That(BitConverter.SingleToInt32Bits(table[2, 0]), Is.EqualTo(BitConverter.SingleToInt32Bits(3f)), "row 2 untouched");

        SetRowGradients(table, (1, [3f]), (2, [4f]));
        adam.Step([table]);
        Assert.That(table.ToArray(), Is.EqualTo(new[] { 0.9f, 2.0293901212f, 2.9118082896f }).Within(1e-6f));
        IReadOnlyList<OptimizerStateBuffer> state = adam.GetState();
        Assert.That(state.Single(b => b.StateName == "momentum").Values.ToArray(), Is.EqualTo(new[] { 1f, 1.25f, 2f }).Within(1e-6f));
        Assert.That(state.Single(b => b.StateName == "velocity").Values.ToArray(), Is.EqualTo(new[] { 1f, 2.4375f, 4f }).Within(1e-6f));
        Assert.That(adam.Iterations, Is.EqualTo(2));

        // The control: dense Adam on the same gradients moves row 0 in step 2 (m and v decay).
        Tensor denseTable = Tensor.FromArray([1f, 2f, 3f], 3, 1).AsParameter("table");
        var dense = new Adam(0.1f, beta1: 0.5f, beta2: 0.75f, epsilon: 0f);
        SetRowGradients(denseTable, (0, [2f]), (1, [-1f]));
        dense.Step([denseTable]);
        SetRowGradients(denseTable, (1, [3f]), (2, [4f]));
        dense.Step([denseTable]);
        Assert.That(denseTable[0, 0], Is.Not.EqualTo(0.9f).Within(1e-3f));
    }

    // Batches of ids (N = 2, T = 5) into a table of 300 rows: rows 200 and above are never touched.
    private static readonly float[][] Batches =
    [
        [1, 7, 7, 199, 0, 64, 65, 66, 7, 130],
        [198, 0, 0, 5, 5, 5, 63, 64, 150, 1],
        [7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    ];

    private const int Vocabulary = 300, Width = 12, Touched = 200;

    /// <summary>Six steps of loss = Σ (embedding(ids) · probe)²; <paramref name="allRows"/> appends every id of the table to each batch.</summary>
    private static (Tensor Table, Optimizer Optimizer) Train(Optimizer optimizer, bool allRows = false, int vocabulary = Vocabulary, int width = Width)
    {
        Tensor table = Tensor.RandomNormal([vocabulary, width], std: 0.5f, seed: 3).AsParameter("table");
        Tensor probe = Tensor.RandomNormal([width], seed: 4);
        for (int step = 0; step < 6; step++)
        {
            float[] batch = Batches[step % Batches.Length];
            if (allRows)
                batch = [.. batch, .. Enumerable.Range(0, vocabulary).Select(i => (float)i)];
            Tensor ids = Tensor.FromArray(batch, 1, batch.Length);
            Ops.Sum(Ops.Square(Ops.Embedding(ids, table) * probe)).Backward();
            Assert.That(table.TouchedGradientRows, Is.Not.Null);
            optimizer.Step([table]);
            Optimizer.ZeroGradients([table]);
        }
        return (table, optimizer);
    }

    private static void AssertSameWeightsAndState((Tensor Table, Optimizer Optimizer) actual, (Tensor Table, Optimizer Optimizer) expected)
    {
        Assert.That(Bits(actual.Table), Is.EqualTo(Bits(expected.Table)), "weights");
        IReadOnlyList<OptimizerStateBuffer> a = actual.Optimizer.GetState(), e = expected.Optimizer.GetState();
        Assert.That(a.Select(b => b.StateName), Is.EqualTo(e.Select(b => b.StateName)));
        for (int k = 0; k < a.Count; k++)
            Assert.That(Bits(a[k].Values), Is.EqualTo(Bits(e[k].Values)), a[k].StateName);
    }

    [TestCaseSource(nameof(LazyCases))]
    public void LazyEqualsDenseWhenEveryRowIsTouchedEveryStep(Func<bool, Optimizer> create)
    {
        Assert.That(create(true).Lazy, Is.True);
        AssertSameWeightsAndState(Train(create(true), allRows: true), Train(create(false), allRows: true));
    }

    [TestCaseSource(nameof(LazyCases))]
    public void UntouchedRowsKeepTheirWeightsAndStateBitForBit(Func<bool, Optimizer> create)
    {
        (Tensor table, Optimizer optimizer) = Train(create(true));
        Tensor untrained = Tensor.RandomNormal([Vocabulary, Width], std: 0.5f, seed: 3);
        int[] before = Bits(untrained), after = Bits(table);
        Assert.That(after[(Touched * Width)..], Is.EqualTo(before[(Touched * Width)..]), "rows 200 and above are never touched");
        Assert.That(after[(7 * Width)..(8 * Width)], Is.Not.EqualTo(before[(7 * Width)..(8 * Width)]), "row 7 trained");

        // A fresh state buffer of the same optimizer: what the untouched rows' state must still be.
        Tensor probe = Tensor.Zeros(Vocabulary, Width).AsParameter("table");
        Optimizer fresh = create(true);
        SetRowGradients(probe);
        fresh.Step([probe]);
        IReadOnlyList<OptimizerStateBuffer> state = optimizer.GetState(), initial = fresh.GetState();
        for (int k = 0; k < state.Count; k++)
            Assert.That(Bits(state[k].Values)[(Touched * Width)..], Is.EqualTo(Bits(initial[k].Values)[(Touched * Width)..]), state[k].StateName);

        // The dense optimizer moves the rows a batch skipped (row 199 is touched in step 1 only), the lazy one does not.
        // Not so Adagrad, whose zero-gradient step changes nothing (SparseEmbeddingUpdateTests).
        if (optimizer is Adagrad)
            return;
        (Tensor denseTable, _) = Train(create(false));
        Assert.That(Bits(denseTable)[(199 * Width)..(200 * Width)], Is.Not.EqualTo(after[(199 * Width)..(200 * Width)]));
    }

    [TestCaseSource(nameof(LazyCases))]
    public void ALazyStepIsTheDenseStepOfTheTouchedRowsAsSeparateParameters(Func<bool, Optimizer> create)
    {
        // The reference twin: each row of the table as its own 1 × 17 parameter, stepped by the dense optimizer only
        // when touched (17 = one Vector512 and a scalar tail, so runs end mid-vector).
        const int rows = 20, width = 17;
        int[][] touched = [[0, 1, 2, 7, 19], [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [19, 0, 5]];
        var random = new Random(8);
        float[] start = [.. Enumerable.Range(0, rows * width).Select(_ => (float)random.NextDouble() - 0.5f)];
        Tensor table = Tensor.FromArray((float[])start.Clone(), rows, width).AsParameter("table");
        Tensor[] separate = [.. Enumerable.Range(0, rows).Select(r => Tensor.FromArray(start[(r * width)..((r + 1) * width)], 1, width).AsParameter($"row {r}"))];
        Optimizer lazy = create(true), dense = create(false);
        foreach (int[] step in touched)
        {
            var gradients = step.Select(r => (r, Enumerable.Range(0, width).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray())).ToArray();
            SetRowGradients(table, gradients);
            lazy.Step([table]);
            foreach ((int r, float[] g) in gradients)
                separate[r].Grad = Tensor.FromArray(g, 1, width);
            dense.Step([.. step.Select(r => separate[r])]);
        }
        Assert.That(Bits(table), Is.EqualTo(separate.SelectMany(Bits).ToArray()));
        foreach (OptimizerStateBuffer buffer in lazy.GetState())
        {
            int[] expected = [.. dense.GetState().Where(b => b.StateName == buffer.StateName).OrderBy(b => int.Parse(b.ParameterName[4..]))
                .SelectMany(b => Bits(b.Values))];
            int[] actual = Bits(buffer.Values);
            // Rows 13..18 were never touched: the dense optimizer holds no state for them; the lazy one's is untouched.
            Assert.That(actual[..(13 * width)].Concat(actual[(19 * width)..]), Is.EqualTo(expected), buffer.StateName);
        }
    }

    [Test]
    public void RegularizationMakesTheLazyStepDense()
    {
        // L2 adds λ·θ to every row's gradient: every row is touched, so lazy and dense agree.
        AssertSameWeightsAndState(Train(new Adam(0.01f, lazy: true) { L2 = 0.01f }), Train(new Adam(0.01f) { L2 = 0.01f }));
    }

    [Test]
    public void ADenseParameterGetsTheDenseUpdate()
    {
        Tensor weights = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2).AsParameter("w");
        Tensor same = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2).AsParameter("w");
        var lazy = new Adam(0.1f, lazy: true);
        var dense = new Adam(0.1f);
        for (int step = 0; step < 2; step++)
        {
            weights.Grad = Tensor.FromArray([0.5f, 0f, 0f, 0f], 2, 2);   // zero on row 1, but no row hint
            same.Grad = Tensor.FromArray([0.5f, 0f, 0f, 0f], 2, 2);
            lazy.Step([weights]);
            dense.Step([same]);
        }
        Assert.That(Bits(weights), Is.EqualTo(Bits(same)));
    }

    [Test]
    public void LazyUpdatesAreIdenticalAtOneAndTwoThreads()
    {
        // Every batch touches every other row of 12,000 rows × 48 (6,000 runs of one row, 288,000 elements, above the
        // parallel threshold of 2¹⁸) and a few more: the fused pass splits the runs, laid end to end, across the
        // workers, cutting inside a run (48 does not divide the 64-aligned cut).
        (int[] Weights, int[] Momentum) Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                Tensor table = Tensor.RandomNormal([12_000 + 50, 48], std: 0.5f, seed: 3).AsParameter("table");
                var adam = new Adam(0.01f, lazy: true);
                var rng = new Random(5);
                for (int step = 0; step < 3; step++)
                {
                    // the even rows below 12,000, plus a run of 5 among the last 50 rows, with random gradients
                    var rows = Enumerable.Range(0, 6000).Select(r => 2 * r).Concat(Enumerable.Range(12_000 + step * 7, 5))
                        .Select(r => (r, Enumerable.Range(0, 48).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray())).ToArray();
                    SetRowGradients(table, rows);
                    adam.Step([table]);
                }
                return (Bits(table), Bits(adam.GetState()[0].Values));
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        (int[] one, int[] oneMomentum) = Run(1);
        (int[] two, int[] twoMomentum) = Run(2);
        Assert.That(two, Is.EqualTo(one));
        Assert.That(twoMomentum, Is.EqualTo(oneMomentum));
    }

    [Test]
    public void TheFactoryMakesLazyOptimizers()
    {
        foreach (string name in Optimizers.Names)
        {
            Assert.That(Optimizers.Create(name).Lazy, Is.False, name);
            Assert.That(Optimizers.Create(name, lazy: true).Lazy, Is.EqualTo(name != "sgd"), name);
        }
    }

    [Test]
    public void AReducerThatCannotCombineRowsIsRefused()
    {
        Tensor table = Tensor.Zeros(4, 2).AsParameter("table");
        var adam = new Adam(0.1f, lazy: true) { GradientReducer = new ScalingReducer(1f) };
        SetRowGradients(table, (1, [1f, 1f]));
        var e = Assert.Throws<NotSupportedException>(() => adam.Step([table]))!;
        Assert.That(e.Message, Does.Contain("SumTouchedRows"));
    }
}
