using System.Numerics.Tensors;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="SideBySideWeightGradients"/>: dW += Xᵀ·dZ, dR += H_prevᵀ·dZ and db += Σ rows of dZ, run side by side
/// on the workers, must be bitwise the three calls one after another on one thread at every thread count (the
/// reference twin), and near the double-precision <see cref="GemmReference"/>.
/// </summary>
public class SideBySideWeightGradientsTests
{
    [TestCase(6400, 512, 128, 128, 6368, false)] // the IMDB seed LSTM: T·N = 200·32 rows, 4U = 512, no initial state (T−1 steps of H_prev)
    [TestCase(37, 100, 5, 7, 34, false)]          // gate columns not a multiple of the 32-column panel, H_prev short of dZ
    [TestCase(50, 40, 3, 9, 50, false)]           // two panels: at 4 threads dR (the costlier product) is cut into two column parts
    [TestCase(20, 20, 4, 4, 20, false)]           // one partial panel: a single column part
    // D ≠ U: the pieces weighted by each product's K (the LSTM's chunks: rowsH a chunk's rows, one step fewer in step 0's chunk)
    [TestCase(512, 512, 16, 128, 480, false)]     // dW the lighter product: its worker also takes columns of dR
    [TestCase(64, 40, 200, 9, 64, false)]         // dW the heavier product
    // The GRU's chunks: dR takes its own dZ (dĤ, whose candidate columns carry the reset gate), dW and db dX̂'s; a piece
    // of dR reading dX̂ would differ.
    [TestCase(512, 384, 128, 128, 508, true)]     // 4 rows, U = 128, no initial state
    [TestCase(37, 100, 5, 7, 34, true)]
    public void EqualsTheSequentialCallsBitwiseAtAnyThreadCount(int rows, int g, int d, int u, int rowsH, bool ownRecurrentDZ)
    {
        float[] dz = Tensor.RandomUniform([rows, g], -1, 1, 80).ToArray();
        float[] dzR = ownRecurrentDZ ? Tensor.RandomUniform([rows, g], -1, 1, 86).ToArray() : dz;
        float[] x = Tensor.RandomUniform([rows, d], -1, 1, 81).ToArray();
        float[] h = Tensor.RandomUniform([rowsH, u], -1, 1, 82).ToArray();
        float[] dW0 = Tensor.RandomUniform([d, g], -1, 1, 83).ToArray();
        float[] dR0 = Tensor.RandomUniform([u, g], -1, 1, 84).ToArray();
        float[] db0 = Tensor.RandomUniform([g], -1, 1, 85).ToArray();

        // The twin: on one thread, db as the row-by-row loop, then the two GEMMs.
        float[] dW = (float[])dW0.Clone(), dR = (float[])dR0.Clone(), db = (float[])db0.Clone();
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            for (int row = 0; row < rows; row++)
                TensorPrimitives.Add(db, dz.AsSpan(row * g, g), db);
            Gemm.Multiply(true, false, d, g, rows, x, d, dz, g, dW, g, accumulate: true);
            Gemm.Multiply(true, false, u, g, rowsH, h, u, dzR.AsSpan((rows - rowsH) * g), g, dR, g, accumulate: true);

            float[] dWReference = (float[])dW0.Clone(), dRReference = (float[])dR0.Clone();
            GemmReference.Multiply(true, false, d, g, rows, x, d, dz, g, dWReference, g, accumulate: true);
            GemmReference.Multiply(true, false, u, g, rowsH, h, u, dzR.AsSpan((rows - rowsH) * g), g, dRReference, g, accumulate: true);
            float tolerance = 1e-5f * rows;
            Assert.That(dW, Is.EqualTo(dWReference).Within(tolerance).AsCollection, "dW against the reference GEMM");
            Assert.That(dR, Is.EqualTo(dRReference).Within(tolerance).AsCollection, "dR against the reference GEMM");

            foreach (int threads in new[] { 1, 2, 3, 4 })
            {
                Parallelism.MaxThreads = threads;
                float[] dWs = (float[])dW0.Clone(), dRs = (float[])dR0.Clone(), dbs = (float[])db0.Clone();
                Parallelism.ResetWidestRegion();
                SideBySideWeightGradients.Accumulate(dz, rows, g, x, d, h, u, rowsH, dWs, dRs, dbs,
                    dzRecurrent: ownRecurrentDZ ? dzR : default);
                AssertSameBitsSideBySide(threads, ("dW", dWs, dW), ("dR", dRs, dR), ("db", dbs, db));
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [TestCase(512, 512, 128, 480)] // an IMDB chunk on embedded ids: dR and db, no dW (the input gradient is summed per id)
    [TestCase(37, 100, 7, 34)]     // gate columns not a multiple of the 32-column panel
    [TestCase(20, 20, 4, 20)]      // one partial panel: a single column range
    public void DRAloneEqualsTheSequentialCallsBitwiseAtAnyThreadCount(int rows, int g, int u, int rowsH)
    {
        float[] dz = Tensor.RandomUniform([rows, g], -1, 1, 90).ToArray();
        float[] h = Tensor.RandomUniform([rowsH, u], -1, 1, 91).ToArray();
        float[] dR0 = Tensor.RandomUniform([u, g], -1, 1, 92).ToArray();
        float[] db0 = Tensor.RandomUniform([g], -1, 1, 93).ToArray();
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            float[] dR = (float[])dR0.Clone(), db = (float[])db0.Clone();
            for (int row = 0; row < rows; row++)
                TensorPrimitives.Add(db, dz.AsSpan(row * g, g), db);
            Gemm.Multiply(true, false, u, g, rowsH, h, u, dz.AsSpan((rows - rowsH) * g), g, dR, g, accumulate: true);
            foreach (int threads in new[] { 1, 2, 3, 4 })
            {
                Parallelism.MaxThreads = threads;
                float[] dRs = (float[])dR0.Clone(), dbs = (float[])db0.Clone();
                // No X and no dW: X is never read (the products run one after another, dR on all workers).
                SideBySideWeightGradients.Accumulate(dz, rows, g, default, 9, h, u, rowsH, default, dRs, dbs);
                Assert.That(dRs, Is.EqualTo(dR).AsCollection, $"dR, {threads} thread(s)");
                Assert.That(dbs, Is.EqualTo(db).AsCollection, $"db, {threads} thread(s)");
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>On embedded ids the chunk's dZ is also summed per id, on the first worker at the head of the line: the
    /// sums, dR (and dW when asked) and db are bitwise those of the calls one after another on one thread.</summary>
    [TestCase(512, 512, 0, 128, 480, 300)] // an IMDB chunk on embedded ids: the sums, dR and db
    [TestCase(37, 100, 0, 7, 34, 11)]      // gate columns not a multiple of the panel
    [TestCase(64, 40, 6, 9, 60, 20)]       // dW too
    [TestCase(20, 20, 0, 4, 20, 3)]        // one partial panel
    public void GroupedSumsBesideTheProductsEqualTheSequentialCallsBitwise(int rows, int g, int d, int u, int rowsH, int groups)
    {
        float[] dz = Tensor.RandomUniform([rows, g], -1, 1, 100).ToArray();
        float[] x = d == 0 ? [] : Tensor.RandomUniform([rows, d], -1, 1, 101).ToArray();
        float[] h = Tensor.RandomUniform([rowsH, u], -1, 1, 102).ToArray();
        float[] dW0 = d == 0 ? [] : Tensor.RandomUniform([d, g], -1, 1, 103).ToArray();
        float[] dR0 = Tensor.RandomUniform([u, g], -1, 1, 104).ToArray();
        float[] db0 = Tensor.RandomUniform([g], -1, 1, 105).ToArray();
        float[] sums0 = new float[groups * g]; // the twin's sums start cleared; the side-by-side ones are never cleared
        var random = new Random(107);
        int[] groupOfRow = [.. Enumerable.Range(0, rows).Select(i => i % 9 == 0 ? -1 : random.Next(groups))];
        int saved = Parallelism.MaxThreads;
        try
        {
            // The twin: one thread, the sums (rows in order from zero), db, dW, then dR.
            Parallelism.MaxThreads = 1;
            float[] sums = (float[])sums0.Clone(), dW = (float[])dW0.Clone(), dR = (float[])dR0.Clone(), db = (float[])db0.Clone();
            for (int row = 0; row < rows; row++)
                if (groupOfRow[row] >= 0)
                    TensorPrimitives.Add(sums.AsSpan(groupOfRow[row] * g, g), dz.AsSpan(row * g, g), sums.AsSpan(groupOfRow[row] * g, g));
            for (int row = 0; row < rows; row++)
                TensorPrimitives.Add(db, dz.AsSpan(row * g, g), db);
            if (d > 0)
                Gemm.Multiply(true, false, d, g, rows, x, d, dz, g, dW, g, accumulate: true);
            Gemm.Multiply(true, false, u, g, rowsH, h, u, dz.AsSpan((rows - rowsH) * g), g, dR, g, accumulate: true);
            foreach (int threads in new[] { 1, 2, 3, 4 })
            {
                Parallelism.MaxThreads = threads;
                float[] sumsS = [.. sums0.Select(_ => float.NaN)], dWs = (float[])dW0.Clone(), dRs = (float[])dR0.Clone(), dbs = (float[])db0.Clone();
                Parallelism.ResetWidestRegion();
                SideBySideWeightGradients.Accumulate(dz, rows, g, x, d, h, u, rowsH, dWs, dRs, dbs, groupOfRow, groups, sumsS, new int[groups],
                    new int[groups], lastGroupSums: true);
                AssertSameBitsSideBySide(threads, ("sums", sumsS, sums), ("dW", dWs, dW), ("dR", dRs, dR), ("db", dbs, db));
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>Each output bitwise its twin's; at 2 threads or more, the work ran in a region of 2 workers or more.</summary>
    private static void AssertSameBitsSideBySide(int threads, params (string Name, float[] Actual, float[] Expected)[] outputs)
    {
        foreach ((string name, float[] actual, float[] expected) in outputs)
            Assert.That(actual, Is.EqualTo(expected).AsCollection, $"{name}, {threads} thread(s)");
        if (threads >= 2)
            Assert.That(Parallelism.WidestRegion, Is.GreaterThanOrEqualTo(2), $"{threads} threads: the work ran side by side");
    }

    /// <summary>
    /// With <see cref="SideBySideWeightGradients.Work.CutRows"/> set (<see cref="RecurrentBackwardPipeline"/>'s lanes),
    /// piece t of the line covers the same columns of dW, dR and db for every chunk whatever its rows: a whole chunk, a
    /// shorter last one, one whose H_prev is a step short of dZ and one with no H_prev row at all (step 0 alone, without
    /// an initial state: no column of dR is touched). Every column is in exactly one piece.
    /// </summary>
    [TestCase(40, 48, 2)]
    [TestCase(40, 48, 3)]
    [TestCase(128, 128, 4)]
    [TestCase(16, 128, 2)]
    [TestCase(0, 48, 3)] // no dW (the LSTM on embedded ids)
    [TestCase(40, 0, 3)] // no dR
    public unsafe void FixedCutsKeepEveryColumnInOnePieceWhateverTheChunksRows(int d, int u, int tasks)
    {
        const int n = 4, chunkSteps = 3, g = 192;
        int nr = GemmMicroKernels.TileSize(Gemm.BestKernel).Nr;
        int[]? firstW = null, firstR = null, firstB = null;
        foreach ((int rows, int rowsH) in ((int, int)[])[(3 * n, 3 * n), (2 * n, 2 * n), (3 * n, 2 * n), (n, 0)])
        {
            float[] dz = [.. Enumerable.Repeat(1f, rows * g)], x = [.. Enumerable.Repeat(1f, rows * d)],
                h = [.. Enumerable.Repeat(1f, rowsH * u)];
            int[] ownerW = [.. Enumerable.Repeat(-1, g)], ownerR = [.. Enumerable.Repeat(-1, g)], ownerB = [.. Enumerable.Repeat(-1, g)];
            for (int task = 0; task < tasks; task++)
            {
                float[] dW = new float[d * g], dR = new float[u * g], db = new float[g];
                fixed (float* pdz = dz, px = x, ph = h, pdw = dW, pdr = dR, pdb = db)
                {
                    var work = new SideBySideWeightGradients.Work
                    {
                        DZ = pdz, X = d > 0 ? px : null, H = ph, DW = d > 0 ? pdw : null, DR = u > 0 ? pdr : null, DBias = pdb,
                        Rows = rows, G = g, D = d, U = u, RowsH = rowsH, Tasks = tasks, Nr = nr,
                        CutRows = chunkSteps * n, CutRowsH = chunkSteps * n,
                    };
                    work.RunTask(task);
                }
                for (int c = 0; c < g; c++) // row 0 of each product: a column its piece touched is non-zero
                {
                    Own(ownerW, d > 0 && dW[c] != 0, c, task, "dW");
                    Own(ownerR, u > 0 && dR[c] != 0, c, task, "dR");
                    Own(ownerB, db[c] != 0, c, task, "db");
                }
            }
            string what = $"rows {rows}, rowsH {rowsH}";
            Assert.That(ownerW, d > 0 ? Has.None.EqualTo(-1) : Has.All.EqualTo(-1), "dW's columns, " + what);
            Assert.That(ownerR, u > 0 && rowsH > 0 ? Has.None.EqualTo(-1) : Has.All.EqualTo(-1), "dR's columns, " + what);
            Assert.That(ownerB, Has.None.EqualTo(-1), "db's columns, " + what);
            firstW ??= ownerW;
            firstR ??= ownerR;
            firstB ??= ownerB;
            Assert.That(ownerW, Is.EqualTo(firstW).AsCollection, "dW's pieces as a whole chunk's, " + what);
            if (rowsH > 0)
                Assert.That(ownerR, Is.EqualTo(firstR).AsCollection, "dR's pieces as a whole chunk's, " + what);
            Assert.That(ownerB, Is.EqualTo(firstB).AsCollection, "db's pieces as a whole chunk's, " + what);
        }
        if (d > 0 && u > 0) // the test can tell: the cuts fall inside the line, not all at one end
            Assert.That(firstW!.Concat(firstR!).Distinct().Count(), Is.EqualTo(tasks), "every piece holds columns");

        static void Own(int[] owner, bool touched, int column, int task, string what)
        {
            if (!touched)
                return;
            Assert.That(owner[column], Is.EqualTo(-1), $"{what} column {column}: in pieces {owner[column]} and {task}");
            owner[column] = task;
        }
    }

    [Test]
    public void AnEmptyGradientIsSkipped()
    {
        const int rows = 30, g = 64, d = 6, u = 5;
        float[] dz = Tensor.RandomUniform([rows, g], -1, 1, 86).ToArray();
        float[] x = Tensor.RandomUniform([rows, d], -1, 1, 87).ToArray();
        float[] h = Tensor.RandomUniform([rows, u], -1, 1, 88).ToArray();
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 2;
            float[] dW = new float[d * g], expected = new float[d * g];
            SideBySideWeightGradients.Accumulate(dz, rows, g, x, d, h, u, rows, dW, default, default);
            Gemm.Multiply(true, false, d, g, rows, x, d, dz, g, expected, g);
            Assert.That(dW, Is.EqualTo(expected).AsCollection);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void SideBySideCoversEveryColumnAtManyShapes()
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            // The two products' costs (rows·D for dW, rowsH·U for dR) far apart either way, so the cut lands anywhere on the line.
            foreach (int g in (int[])[4, 16, 20, 36, 100, 200])
                foreach (int rows in (int[])[3, 50, 400])
                    foreach (int rowsH in (int[])[1, 40, 399])
                        foreach (int d in (int[])[1, 9, 40])
                        {
                            const int u = 5;
                            if (rowsH > rows)
                                continue;
                            float[] dz = Tensor.RandomUniform([rows, g], -1, 1, 80).ToArray();
                            float[] x = Tensor.RandomUniform([rows, d], -1, 1, 81).ToArray();
                            float[] h = Tensor.RandomUniform([rowsH, u], -1, 1, 82).ToArray();
                            float[] dW = new float[d * g], dR = new float[u * g], db = new float[g];
                            Parallelism.MaxThreads = 1;
                            SideBySideWeightGradients.Accumulate(dz, rows, g, x, d, h, u, rowsH, dW, dR, db);
                            foreach (int threads in (int[])[2, 3, 4, 5, 7, 8])
                            {
                                Parallelism.MaxThreads = threads;
                                float[] dWs = new float[d * g], dRs = new float[u * g], dbs = new float[g];
                                SideBySideWeightGradients.Accumulate(dz, rows, g, x, d, h, u, rowsH, dWs, dRs, dbs);
                                string what = $"g={g} rows={rows} rowsH={rowsH} d={d} threads={threads}";
                                Assert.That(dWs, Is.EqualTo(dW).AsCollection, "dW " + what);
                                Assert.That(dRs, Is.EqualTo(dR).AsCollection, "dR " + what);
                                Assert.That(dbs, Is.EqualTo(db).AsCollection, "db " + what);
                            }
                        }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
