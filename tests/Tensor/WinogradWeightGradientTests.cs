using System.Runtime.Intrinsics;
using NanoNet.Kernels;
using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>
/// The weight gradient by Winograd's F(3×3, 4×4) (<see cref="WinogradWeightGradient"/>): within round-off of a
/// double-precision sum (dW and db), the same bits at 1, 2 and 3 threads and in any grouping of the
/// tiles; through a pooling, the plain pass's gradient of the unpooled dZ; non-finite values never lost; the group rule
/// on recorded caches; a gradient check through the op and a model trained with it.
/// </summary>
[NonParallelizable] // switches WinogradWeightGradient.Enabled and Parallelism.MaxThreads, which are process-wide
public class WinogradWeightGradientTests
{
    /// <summary>F(3×3, 4×4)'s rounding bound, relative to the sum of |terms| (as the F(4×4) forward's).</summary>
    private const double Tolerance = 1e-5;

    // (batch, H, W, C, F, same)
    private static readonly object[] Geometries =
    [
        new object[] { 3, 32, 32, 32, 32, false }, // the Keras 32 → 32 layer: 30×30, the last tiles half in (a padded copy)
        new object[] { 3, 15, 15, 32, 64, true },  // the Keras 32 → 64 'same' layer: 15×15, two filter panels
        new object[] { 2, 15, 15, 64, 64, false }, // the Keras 64 → 64 layer: 13×13, one row and column of tiles ¼ in
        new object[] { 5, 9, 12, 16, 32, true },   // C = 16 (two 8-channel tiles), unequal sides
        new object[] { 1, 4, 4, 16, 96, false },   // the smallest output (2×2, one tile mostly outside), three filter panels
        new object[] { 2, 10, 10, 48, 32, false }, // 8×8: whole tiles read in place, three channel vectors
    ];

    [TestCaseSource(nameof(Geometries))]
    public void WeightGradientIsCloseToTheReferenceAndTheSameAtAnyThreadCount(int batch, int h, int w, int c, int filters, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, 3, 3, 1, 1, same);
        Assume.That(WinogradWeightGradient.Applies(g, filters), "needs accelerated Vector512");
        (float[] x, float[] k, _) = DirectConvTests.Inputs(batch, g, filters);
        float[] dZ = Gradient(batch * g.OutputPixels * filters, 7);
        double[] exact = ExactWeightGradient(x, dZ, batch, filters, g, out double[] scale);
        (float[] dW, float[] dB) = Run(x, k, dZ, batch, filters, g, threads: 1, winograd: true);
        (float[] directW, float[] directB) = Run(x, k, dZ, batch, filters, g, threads: 1, winograd: false);
        Assert.That(dW, Is.Not.EqualTo(directW).AsCollection, "the Winograd path ran (it rounds differently from the direct one)");
        for (int i = 0; i < dW.Length; i++)
            Assert.That(dW[i], Is.EqualTo(exact[i]).Within(Tolerance * scale[i] + 1e-7), $"dW[{i}]");
        for (int f = 0; f < filters; f++)
        {
            // db sums the tiles' sums (element (1, 1) of U): a different order from the direct kernel's, within 1e-6 of Σ|dZ|.
            double sum = 0, magnitude = 0;
            for (int p = f; p < dZ.Length; p += filters)
                (sum, magnitude) = (sum + dZ[p], magnitude + Math.Abs(dZ[p]));
            Assert.That(dB[f], Is.EqualTo(sum).Within(1e-6 * magnitude), $"db[{f}]");
            Assert.That(dB[f], Is.EqualTo(directB[f]).Within(2e-6 * magnitude), $"db[{f}] against the direct kernel's");
        }
        foreach (int threads in new[] { 2, 3 })
        {
            (float[] again, float[] againB) = Run(x, k, dZ, batch, filters, g, threads, winograd: true);
            Assert.That(again, Is.EqualTo(dW).AsCollection, $"dW, {threads} threads");
            Assert.That(againB, Is.EqualTo(dB).AsCollection, $"db, {threads} threads");
        }
    }

    [Test]
    public unsafe void AnyGroupingOfTheTilesGivesTheSameBits()
    {
        // Two 30×30 images: 128 tiles, in groups of 16 (eight groups going on from each other's sums), 48 (a last group of
        // 32) and 256 (one group).
        var g = ConvGeometry.Create(32, 32, 32, 3, 3, 1, 1, samePadding: false);
        Assume.That(WinogradWeightGradient.Applies(g, 32), "needs accelerated Vector512");
        (float[] x, _, _) = DirectConvTests.Inputs(2, g, 32);
        float[] dZ = Gradient(2 * g.OutputPixels * 32, 9);
        float[] Compute(int group)
        {
            var result = new float[(g.PatchSize + 1) * 32];
            var workspace = new float[WinogradWeightGradient.WorkspaceLength(g, 32, group) + 16];
            fixed (float* px = x, pdz = dZ, pr = result, pw = workspace)
                WinogradWeightGradient.ComputeInGroups(px, 2, g, pdz, 32, pr, NanoNet.Memory.CacheLineAlignment.Align(pw), group);
            return result;
        }
        float[] one = Compute(256);
        Assert.That(Compute(16), Is.EqualTo(one).AsCollection, "groups of 16");
        Assert.That(Compute(48), Is.EqualTo(one).AsCollection, "groups of 48");
    }

    [Test]
    public void ThePooledBackwardGivesThePlainBackwardsWeightGradientOfTheUnpooledGradient()
    {
        const int batch = 3;
        (ConvGeometry g, ConvGeometry pool, float[] x, float[] k, int[] argmax, int pooledLength) = PooledKerasLayer(batch);
        float[] dY = Gradient(pooledLength, 11);
        var unpooled = new float[batch * g.OutputPixels * 64];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < pool.OutputPixels * 64; o++)
                if (argmax[n * pool.OutputPixels * 64 + o] != Conv2DKernels.ZeroedWindow)
                    unpooled[n * g.OutputPixels * 64 + argmax[n * pool.OutputPixels * 64 + o]] += dY[n * pool.OutputPixels * 64 + o];
        foreach (int threads in new[] { 1, 2 })
        {
            (float[] dW, float[] dB) = WithThreads(threads, winograd: true, () =>
            {
                float[] dW = new float[k.Length], dB = new float[64];
                Conv2DKernels.BackwardMaxPool(x, k, argmax, dY, dW, dB, default, batch, 64, g, pool);
                return (dW, dB);
            });
            (float[] plainW, float[] plainB) = Run(x, k, unpooled, batch, 64, g, threads, winograd: true);
            Assert.That(dW, Is.EqualTo(plainW).AsCollection, $"dW, {threads} thread(s)");
            Assert.That(dB, Is.EqualTo(plainB).AsCollection, $"db, {threads} thread(s)");
        }
    }

    /// <summary>
    /// Pooled (dZ unpooled from 2×2 windows), only the 2·PH × 2·PW outputs the windows cover are read: NaN past them changes
    /// nothing, and the result is the whole pass's over dZ with zeros there (equal values; only a zero's sign may differ).
    /// The covered outputs end on a tile's edge (13×13: 12 covered, the Keras layer's) or inside a tile (15×15: 14; 15×12).
    /// </summary>
    [TestCase(15, 15)]
    [TestCase(17, 17)]
    [TestCase(17, 14)]
    public unsafe void ThePooledWeightGradientReadsOnlyTheOutputsTheWindowsCover(int height, int width)
    {
        var g = ConvGeometry.Create(height, width, 64, 3, 3, 1, 1, samePadding: false);
        Assume.That(WinogradWeightGradient.Applies(g, 64), "needs accelerated Vector512");
        const int batch = 2;
        int coveredHeight = g.OutputHeight / 2 * 2, coveredWidth = g.OutputWidth / 2 * 2;
        (float[] x, _, _) = DirectConvTests.Inputs(batch, g, 64);
        float[] dZ = Gradient(batch * g.OutputPixels * 64, 17), zeroed = (float[])dZ.Clone();
        for (int n = 0; n < batch; n++)
            for (int row = 0; row < g.OutputHeight; row++)
                for (int column = 0; column < g.OutputWidth; column++)
                    if (row >= coveredHeight || column >= coveredWidth)
                        for (int f = 0; f < 64; f++)
                        {
                            int at = ((n * g.OutputHeight + row) * g.OutputWidth + column) * 64 + f;
                            (dZ[at], zeroed[at]) = (float.NaN, 0f);
                        }
        float[] Compute(float[] gradient, bool pooled)
        {
            var result = new float[(g.PatchSize + 1) * 64];
            var workspace = new float[WinogradWeightGradient.WorkspaceLength(g, 64) + 16];
            fixed (float* px = x, pdz = gradient, pr = result, pw = workspace)
                WinogradWeightGradient.Compute(px, batch, g, pdz, 64, pr, NanoNet.Memory.CacheLineAlignment.Align(pw), pooled);
            return result;
        }
        float[] covered = Compute(dZ, pooled: true), whole = Compute(zeroed, pooled: false);
        Assert.That(covered, Is.All.Not.NaN, "the NaN outside the covered outputs is not read");
        Assert.That(covered, Is.EqualTo(whole).AsCollection, "the whole pass over dZ with zeros outside");
    }

    /// <summary>
    /// Through a pooling that drops the 13×13 output's last row and column, an infinite input that only those outputs see
    /// (row 14 of the 15×15 image) leaves the weight gradient finite (the forward never used those outputs); one the
    /// pooled outputs see (row 13) still makes its channel's taps non-finite.
    /// </summary>
    [TestCase(14, true)]
    [TestCase(13, false)]
    public void AnInfiniteInputOnlyTheDroppedOutputsSeeLeavesThePooledWeightGradientFinite(int row, bool finite)
    {
        const int batch = 1;
        (ConvGeometry g, ConvGeometry pool, float[] x, float[] k, int[] argmax, int pooledLength) = PooledKerasLayer(batch);
        x[(row * 15 + 7) * 64 + 5] = float.PositiveInfinity; // channel 5, after the forward (its argmax stays finite)
        float[] dY = Gradient(pooledLength, 19);
        (float[] dW, _) = WithThreads(1, winograd: true, () =>
        {
            float[] dW = new float[k.Length], dB = new float[64];
            Conv2DKernels.BackwardMaxPool(x, k, argmax, dY, dW, dB, default, batch, 64, g, pool);
            return (dW, dB);
        });
        for (int tap = 0; tap < 9; tap++)
            for (int f = 0; f < 64; f++)
                Assert.That(float.IsFinite(dW[(tap * 64 + 5) * 64 + f]) || !finite, $"tap {tap}, filter {f} of channel 5");
        Assert.That(dW.Where((_, i) => i / 64 % 64 == 5).Any(v => !float.IsFinite(v)), Is.EqualTo(!finite), "some tap of channel 5 not finite");
        Assert.That(dW.Where((_, i) => i / 64 % 64 != 5), Is.All.Matches<float>(float.IsFinite), "the other channels");
    }

    /// <summary>
    /// The Keras 64 → 64 layer (15×15 → 13×13, pooled by 2×2 windows to 6×6: the odd row and column get 0) run forward
    /// with its pooling on <paramref name="batch"/> images: the geometries, the inputs, and each window's winner.
    /// </summary>
    private static (ConvGeometry G, ConvGeometry Pool, float[] X, float[] K, int[] ArgMax, int PooledLength) PooledKerasLayer(int batch)
    {
        var g = ConvGeometry.Create(15, 15, 64, 3, 3, 1, 1, samePadding: false);
        Assume.That(WinogradWeightGradient.Applies(g, 64), "needs accelerated Vector512");
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, 64, 2, 2, 2, 2, samePadding: false);
        (float[] x, float[] k, float[] bias) = DirectConvTests.Inputs(batch, g, 64);
        var pooled = new float[batch * pool.OutputPixels * 64];
        var argmax = new int[pooled.Length];
        Conv2DKernels.ForwardMaxPool(x, k, bias, pooled, argmax, batch, 64, g, relu: true, pool);
        return (g, pool, x, k, argmax, pooled.Length);
    }

    [Test]
    public void NonFiniteValuesReachTheGradientsTheyTouch()
    {
        var g = ConvGeometry.Create(9, 9, 16, 3, 3, 1, 1, samePadding: true);
        Assume.That(WinogradWeightGradient.Applies(g, 32), "needs accelerated Vector512");
        (float[] x, float[] k, _) = DirectConvTests.Inputs(2, g, 32);
        float[] dZ = Gradient(2 * g.OutputPixels * 32, 13);
        // An infinite input (image 1, pixel (4, 5), channel 3): every tap of channel 3 is non-finite, the others finite.
        float[] xInf = (float[])x.Clone();
        xInf[((1 * 9 + 4) * 9 + 5) * 16 + 3] = float.PositiveInfinity;
        (float[] dW, _) = Run(xInf, k, dZ, 2, 32, g, threads: 1, winograd: true);
        for (int tap = 0; tap < 9; tap++)
            for (int ch = 0; ch < 16; ch++)
                for (int f = 0; f < 32; f++)
                {
                    float value = dW[(tap * 16 + ch) * 32 + f];
                    Assert.That(float.IsFinite(value), Is.EqualTo(ch != 3), $"tap {tap}, channel {ch}, filter {f}: {value}");
                }
        // A NaN in dZ (image 0, pixel (8, 8): the last, partial tile; filter 30): every tap of filter 30 and its db are NaN.
        float[] dZNaN = (float[])dZ.Clone();
        dZNaN[(8 * 9 + 8) * 32 + 30] = float.NaN;
        (float[] dWNaN, float[] dBNaN) = Run(x, k, dZNaN, 2, 32, g, threads: 1, winograd: true);
        for (int p = 0; p < 9 * 16; p++)
            for (int f = 0; f < 32; f++)
                Assert.That(float.IsNaN(dWNaN[p * 32 + f]), Is.EqualTo(f == 30), $"dW row {p}, filter {f}");
        Assert.That(float.IsNaN(dBNaN[30]) && float.IsFinite(dBNaN[29]), "db");
    }

    [Test]
    public void TheGroupKeepsVAndUInThreeEighthsOfL2()
    {
        var g32 = ConvGeometry.Create(32, 32, 32, 3, 3, 1, 1, samePadding: false);
        var g64 = ConvGeometry.Create(15, 15, 64, 3, 3, 1, 1, samePadding: false);
        // Emerald Rapids, 2 MB: 768 KB / (36 elements · 128 floats · 4 B) = 42.7 for 64 → 64; 85 for 32 → 32.
        Assert.That(WinogradWeightGradient.TilesPerGroup(g32, 32, 2 << 20), Is.EqualTo(85));
        Assert.That(WinogradWeightGradient.TilesPerGroup(g64, 64, 2 << 20), Is.EqualTo(42));
        // Zen 5, 1 MB: half as many.
        Assert.That(WinogradWeightGradient.TilesPerGroup(g32, 32, 1 << 20), Is.EqualTo(42));
        Assert.That(WinogradWeightGradient.TilesPerGroup(g64, 64, 1 << 20), Is.EqualTo(21));
        Assert.That(WinogradWeightGradient.TilesPerGroup(g64, 64, 128 << 10), Is.EqualTo(16), "at least 16");
        Assert.That(WinogradWeightGradient.TilesPerGroup(g32, 32, 64 << 20), Is.EqualTo(256), "at most 256");
    }

    [Test]
    public void GradientCheckThroughTheOp()
    {
        // The weight gradient by F(3×3, 4×4) (and the forward and dX by Winograd too): the central differences must match it.
        var g = ConvGeometry.Create(6, 7, 16, 3, 3, 1, 1, true);
        Assume.That(WinogradWeightGradient.Applies(g, 32), "needs accelerated Vector512");
        var x = GradientCheck.Random([2, 6, 7, 16], 71, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 16, 32], 72, awayFromZero: 0.1f);
        var b = GradientCheck.Random([32], 73);
        // Linear in each element, so the central difference is exact at any ε: a large one divides the round-off down.
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], (1, 1), (1, 1), ConvPadding.Same, ActivationFunction.Linear), [x, k, b],
            epsilon: 0.25f);
    }

    [Test]
    public void AModelTrainsTheSameWithEitherWeightGradientWithinRoundOff()
    {
        // The model's first layer (12×12×16 → 32 filters): Winograd's on AVX-512 and on AVX2 + FMA, else both trainings run the direct kernel.
        Assume.That(WinogradWeightGradient.Applies(ConvGeometry.Create(12, 12, 16, 3, 3, 1, 1, false), 32), "needs AVX-512, or AVX2 + FMA");
        float[] Train(bool winograd) => WithThreads(2, winograd, WinogradConvTests.TrainSmallModel);
        WinogradConvTests.AssertTrainedAlike(Train(winograd: false), Train(winograd: true));
    }

    /// <summary>[dW; db] of a plain backward with dZ given (no ReLU), Winograd's or the direct kernel's.</summary>
    private static (float[] DW, float[] DB) Run(float[] x, float[] k, float[] dZ, int batch, int filters, in ConvGeometry g, int threads, bool winograd)
    {
        ConvGeometry geometry = g;
        return WithThreads(threads, winograd, () =>
        {
            float[] dW = new float[k.Length], dB = new float[filters]; // the backward adds the batch's gradient to what they hold
            Conv2DKernels.Backward(x, k, new float[dZ.Length], (float[])dZ.Clone(), dW, dB, default, batch, filters, geometry, relu: false);
            return (dW, dB);
        });
    }

    /// <summary>dW in double precision (Σ x·dZ over the pixels), and per element the sum of |terms|.</summary>
    private static double[] ExactWeightGradient(float[] x, float[] dZ, int batch, int filters, in ConvGeometry g, out double[] scale)
    {
        var dW = new double[g.PatchSize * filters];
        var magnitude = new double[dW.Length];
        WinogradConvTests.ForEachTerm(g, batch, filters, (xAt, kAt, yAt) =>
        {
            double term = (double)x[xAt] * dZ[yAt];
            dW[kAt] += term;
            magnitude[kAt] += Math.Abs(term);
        });
        scale = magnitude;
        return dW;
    }

    private static float[] Gradient(int length, int seed)
    {
        var rng = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextSingle() * 2 - 1;
        return values;
    }

    /// <summary>Runs <paramref name="run"/> with the Winograd weight gradient on or off and the thread count set, then restores both.</summary>
    private static T WithThreads<T>(int threads, bool winograd, Func<T> run)
    {
        (bool saved, int savedThreads) = (WinogradWeightGradient.Enabled, Parallelism.MaxThreads);
        (WinogradWeightGradient.Enabled, Parallelism.MaxThreads) = (winograd, threads);
        try
        {
            return run();
        }
        finally
        {
            (WinogradWeightGradient.Enabled, Parallelism.MaxThreads) = (saved, savedThreads);
        }
    }
}
