using System.Runtime.Intrinsics;
using NanoNet.Kernels;
using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>
/// The Winograd forward and input gradient (<see cref="WinogradConv"/>), each case with both tile sizes, F(2×2, 3×3) and
/// F(4×4, 3×3): within round-off of a double-precision sum, every output written, the same bits at 1, 2 and 3 threads;
/// pooled, exactly the maxima and indices of its own plain output; the rules that pick it and its tile size; a gradient
/// check through the op and a model trained with it.
/// </summary>
[NonParallelizable] // switches WinogradConv.Enabled and Parallelism.MaxThreads, which are process-wide
public class WinogradConvTests
{
    // (batch, H, W, C, F, same)
    private static readonly object[] Geometries =
    [
        new object[] { 3, 32, 32, 32, 32, false }, // the Keras 32 → 32 layer: 15×15 tiles, read in place
        new object[] { 3, 15, 15, 32, 64, true },  // the Keras 32 → 64 'same' layer: a padded copy, an odd output (last tiles half used)
        new object[] { 2, 15, 15, 64, 64, false }, // the Keras 64 → 64 layer: OH = 13, odd
        new object[] { 5, 9, 12, 16, 32, true },   // C = 16, unequal sides, a last block of fewer than 8 tiles
        new object[] { 1, 4, 4, 16, 96, false },   // the smallest output (2×2, one tile), three filter panels
        new object[] { 2, 7, 10, 48, 32, false },  // three channel vectors, OH = 5 odd, OW = 8 even
        new object[] { 3, 9, 12, 32, 32, true },   // 'same' on unequal sides: the input gradient's dZ padded by 1
        new object[] { 1, 4, 5, 64, 32, false },   // a 2×3 output, the smallest dZ: the input gradient's 'full' padding of 2
    ];

    /// <summary>Every geometry with each tile size, F(2×2) and F(4×4).</summary>
    private static IEnumerable<object[]> Cases() =>
        from object[] geometry in Geometries from int tile in new[] { 2, 4 } select (object[])[.. geometry, tile];

    /// <summary>Each tile size's rounding bound, relative to the sum of |terms| (see the tile structs' remarks).</summary>
    private static double Tolerance(int tile) => tile == 4 ? 1e-5 : 1e-6;

    [TestCaseSource(nameof(Cases))]
    public void ForwardIsCloseToTheReferenceAndTheSameAtAnyThreadCount(int batch, int h, int w, int c, int filters, bool same, int tile)
    {
        var g = ConvGeometry.Create(h, w, c, 3, 3, 1, 1, same);
        Assume.That(WinogradConv.Applies(g, filters), "needs accelerated Vector512");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        double[] exact = Exact(x, k, bias, batch, filters, g, out double[] scale);
        foreach (bool relu in new[] { false, true })
        {
            float[] Run(int threads) => With(winograd: true, threads, () =>
            {
                var y = new float[batch * g.OutputPixels * filters];
                y.AsSpan().Fill(float.NaN); // every element must be written
                Conv2DKernels.Forward(x, k, bias, y, batch, filters, g, relu);
                return y;
            }, tile);
            float[] one = Run(1);
            float[] direct = With(winograd: false, 1, () =>
            {
                var y = new float[one.Length];
                Conv2DKernels.Forward(x, k, bias, y, batch, filters, g, relu);
                return y;
            });
            Assert.That(one, Is.Not.EqualTo(direct).AsCollection, "the Winograd path ran (it rounds differently from the direct one)");
            foreach (int threads in new[] { 2, 3 })
                Assert.That(Run(threads), Is.EqualTo(one).AsCollection, $"relu {relu}, {threads} threads");
            for (int i = 0; i < one.Length; i++)
            {
                double expected = relu ? Math.Max(exact[i], 0) : exact[i];
                // A few roundings of sums of |w·x| terms: 1e-6 (F(4×4): 1e-5) of that scale (the float sums' own error is ~1e-7 of it).
                Assert.That(one[i], Is.EqualTo(expected).Within(Tolerance(tile) * scale[i] + 1e-7), $"relu {relu}, [{i}]");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void PooledForwardGivesItsOwnOutputsMaximaAndIndices(int batch, int h, int w, int c, int filters, bool same, int tile)
    {
        (ConvGeometry g, ConvGeometry pool) = Pooled(h, w, c, filters, same, inputGradient: false);
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        foreach (bool relu in new[] { true, false })
        {
            var plain = new float[batch * g.OutputPixels * filters];
            With(winograd: true, 1, () => { Conv2DKernels.Forward(x, k, bias, plain, batch, filters, g, relu); return 0; }, tile);
            (float[] expectedY, int[] expectedIndex) = MaxPool(plain, batch, filters, g, pool, relu);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                (float[] y, int[] argmax, float[] inference) = With(winograd: true, threads, () =>
                {
                    var y = new float[batch * pool.OutputPixels * filters];
                    var argmax = new int[y.Length];
                    var inference = new float[y.Length];
                    y.AsSpan().Fill(float.NaN);
                    inference.AsSpan().Fill(float.NaN);
                    Conv2DKernels.ForwardMaxPool(x, k, bias, y, argmax, batch, filters, g, relu, pool);
                    Conv2DKernels.ForwardMaxPool(x, k, bias, inference, default, batch, filters, g, relu, pool);
                    return (y, argmax, inference);
                }, tile);
                Assert.That(y, Is.EqualTo(expectedY).AsCollection, $"relu {relu}: maxima, {threads} thread(s)");
                Assert.That(argmax, Is.EqualTo(expectedIndex).AsCollection, $"relu {relu}: argmax, {threads} thread(s)");
                Assert.That(inference, Is.EqualTo(expectedY).AsCollection, $"relu {relu}: inference, {threads} thread(s)");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void InputGradientIsCloseToTheReferenceStoredOrAddedAndTheSameAtAnyThreadCount(int batch, int h, int w, int c, int filters, bool same, int tile)
    {
        var g = ConvGeometry.Create(h, w, c, 3, 3, 1, 1, same);
        Assume.That(WinogradConv.InputGradientApplies(g, filters), "needs accelerated Vector512, F a multiple of 16 and C of 32");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        var rng = new Random(5);
        float[] dY = new float[batch * g.OutputPixels * filters], y = new float[dY.Length];
        for (int i = 0; i < dY.Length; i++) dY[i] = rng.NextSingle() * 2 - 1;
        double[] exact = ExactInputGradient(dY, k, batch, filters, g, out double[] scale);
        float[] Run(int threads, bool overwrite, float start, bool winograd = true) => With(winograd, threads, () =>
        {
            var dX = new float[x.Length];
            dX.AsSpan().Fill(start);
            Conv2DKernels.Backward(x, k, y, (float[])dY.Clone(), default, default, dX, batch, filters, g, relu: false, overwriteInput: overwrite);
            return dX;
        }, tile);
        float[] stored = Run(1, overwrite: true, start: float.NaN); // every element must be written
        Assert.That(stored, Is.Not.EqualTo(Run(1, overwrite: true, start: 0f, winograd: false)).AsCollection, "the Winograd path ran");
        for (int i = 0; i < stored.Length; i++)
            Assert.That(stored[i], Is.EqualTo(exact[i]).Within(Tolerance(tile) * scale[i] + 1e-7), $"[{i}]");
        foreach (int threads in new[] { 2, 3 })
            Assert.That(Run(threads, overwrite: true, start: float.NaN), Is.EqualTo(stored).AsCollection, $"{threads} threads");
        float[] added = Run(2, overwrite: false, start: 1f);
        for (int i = 0; i < added.Length; i++)
            Assert.That(added[i], Is.EqualTo(1f + stored[i]).Within(1e-6f * (1 + MathF.Abs(stored[i]))), $"added onto what dX held, [{i}]");
    }

    [TestCaseSource(nameof(Cases))]
    public void PooledBackwardGivesThePlainBackwardsInputGradientOfTheUnpooledGradient(int batch, int h, int w, int c, int filters, bool same, int tile)
    {
        (ConvGeometry g, ConvGeometry pool) = Pooled(h, w, c, filters, same, inputGradient: true);
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        var pooled = new float[batch * pool.OutputPixels * filters];
        var argmax = new int[pooled.Length];
        Conv2DKernels.ForwardMaxPool(x, k, bias, pooled, argmax, batch, filters, g, relu: true, pool);
        var rng = new Random(9);
        float[] dPooled = new float[pooled.Length], dZ = new float[batch * g.OutputPixels * filters];
        for (int i = 0; i < dPooled.Length; i++) dPooled[i] = rng.NextSingle() * 2 - 1;
        int imageSize = g.OutputPixels * filters, pooledSize = pool.OutputPixels * filters;
        for (int o = 0; o < dPooled.Length; o++)
            if (argmax[o] != Conv2DKernels.ZeroedWindow)
                dZ[o / pooledSize * imageSize + argmax[o]] += dPooled[o];
        float[] expected = With(winograd: true, 1, () =>
        {
            var dX = new float[x.Length];
            Conv2DKernels.Backward(x, k, new float[dZ.Length], dZ, default, default, dX, batch, filters, g, relu: false);
            return dX;
        }, tile);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            float[] dX = With(winograd: true, threads, () =>
            {
                var dX = new float[x.Length];
                dX.AsSpan().Fill(float.NaN);
                Conv2DKernels.BackwardMaxPool(x, k, argmax, dPooled, default, default, dX, batch, filters, g, pool, overwriteInput: true);
                return dX;
            }, tile);
            Assert.That(dX, Is.EqualTo(expected).AsCollection, $"{threads} thread(s)");
        }
    }

    [TestCase(2)]
    [TestCase(4)]
    public void AnInfiniteInputMakesTheDirectMethodsOutputsNonFiniteAndAtMostTheRestOfTheirTiles(int tile)
    {
        // Input pixel (3, 3) lies in the 3×3 windows of outputs (1..3, 1..3). F(2×2): it is row and column 3 of tile
        // (0, 0)'s 4×4 block and row and column 1 of tile (1, 1)'s, and the transforms' ±1 coefficients carry an input
        // only into the outputs whose windows hold it, so the non-finite outputs are the direct method's. F(4×4): Bᵀ and
        // Aᵀ mix every inner row of the 6×6 block into every output of the tile, so all of tile (0, 0), outputs
        // (0..3, 0..3), turn non-finite, and no other tile. Where two infinities meet, ∞ − ∞ may give NaN instead of ±∞
        // (docs/convolution.md, numerics).
        var g = ConvGeometry.Create(8, 8, 16, 3, 3, 1, 1, false);
        Assume.That(WinogradConv.Applies(g, 32), "needs accelerated Vector512");
        (float[] x, float[] k, float[] bias) = Inputs(1, g, 32);
        x[(3 * 8 + 3) * 16] = float.PositiveInfinity;
        float[] Run(bool winograd) => With(winograd, 1, () =>
        {
            var y = new float[g.OutputPixels * 32];
            Conv2DKernels.Forward(x, k, bias, y, 1, 32, g, relu: false);
            return y;
        }, tile);
        float[] direct = Run(false), winograd = Run(true);
        for (int oh = 0; oh < 6; oh++)
            for (int ow = 0; ow < 6; ow++)
                for (int f = 0; f < 32; f++)
                {
                    int o = (oh * 6 + ow) * 32 + f;
                    bool window = oh >= 1 && oh <= 3 && ow >= 1 && ow <= 3, spread = tile == 4 ? oh <= 3 && ow <= 3 : window;
                    Assert.That(float.IsFinite(direct[o]), Is.EqualTo(!window), $"direct ({oh}, {ow}, {f})");
                    Assert.That(float.IsFinite(winograd[o]), Is.EqualTo(!spread), $"Winograd ({oh}, {ow}, {f})");
                    if (!spread)
                        Assert.That(winograd[o], Is.EqualTo(direct[o]).Within(1e-4f * (1 + MathF.Abs(direct[o]))), $"Winograd ({oh}, {ow}, {f})");
                }
        // The documented difference, held so that a change to it is noticed: the direct method's ±∞, mostly NaN here.
        Assert.That(direct.Count(float.IsNaN), Is.Zero);
        Assert.That(winograd.Count(float.IsNaN), Is.GreaterThan(0));
    }

    [Test]
    public void TheRuleTakesThreeByThreeStrideOneOverWholeChannelVectors()
    {
        Assume.That(Vector512.IsHardwareAccelerated, "needs accelerated Vector512");
        Assert.Multiple(() =>
        {
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(32, 32, 32, 3, 3, 1, 1, false), 32), Is.True, "the Keras 32 → 32 layer");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(15, 15, 32, 3, 3, 1, 1, true), 64), Is.True, "the Keras 32 → 64 layer");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, true), 32), Is.False, "a 3-channel stem");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(32, 32, 24, 3, 3, 1, 1, true), 32), Is.False, "24 channels");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(32, 32, 32, 3, 3, 1, 1, true), 48), Is.False, "48 filters");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(32, 32, 32, 3, 3, 2, 2, true), 32), Is.False, "stride 2");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(32, 32, 32, 5, 5, 1, 1, true), 32), Is.False, "5×5");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(32, 32, 32, 3, 3, 1, 1, 2, 2, ConvPadding.Valid), 32), Is.False, "dilated");
            Assert.That(WinogradConv.Applies(ConvGeometry.Create(3, 32, 32, 3, 3, 1, 1, false), 32), Is.False, "one output row");
        });
    }

    [Test]
    public void TheTileSizeIsTheOneWithFewerElementProducts()
    {
        ConvGeometry Valid(int h, int w) => ConvGeometry.Create(h, w, 32, 3, 3, 1, 1, false);
        Assert.Multiple(() =>
        {
            // The Keras layers: 30×30 pooled to 15×15 (8 × 8 × 36 < 15 × 15 × 16), 15×15 'same' (16 × 36 < 64 × 16),
            // 13×13 pooled to 6×6 (9 × 36 < 36 × 16), and their input gradients' 32×32 and 15×15 outputs.
            Assert.That(WinogradConv.ChooseTile(Valid(32, 32), pooled: true), Is.EqualTo(4), "30×30, pooled");
            Assert.That(WinogradConv.ChooseTile(ConvGeometry.Create(15, 15, 32, 3, 3, 1, 1, true), pooled: false), Is.EqualTo(4), "15×15 'same'");
            Assert.That(WinogradConv.ChooseTile(Valid(15, 15), pooled: true), Is.EqualTo(4), "13×13, pooled");
            Assert.That(WinogradConv.ChooseTile(Valid(34, 34), pooled: false), Is.EqualTo(4), "32×32");
            // Mostly hanging past the output: a 2×2 output (36 against 16), a 5×5 one (4 × 36 against 9 × 16), a tie (6×6).
            Assert.That(WinogradConv.ChooseTile(Valid(4, 4), pooled: false), Is.EqualTo(2), "2×2");
            Assert.That(WinogradConv.ChooseTile(Valid(7, 7), pooled: false), Is.EqualTo(2), "5×5");
            Assert.That(WinogradConv.ChooseTile(Valid(8, 8), pooled: false), Is.EqualTo(2), "6×6, a tie: the more accurate F(2×2)");
            Assert.That(WinogradConv.ChooseTile(Valid(10, 10), pooled: false), Is.EqualTo(4), "8×8");
        });
    }

    [Test]
    public void AForwardChunkHoldsWholeBlocksOfTilesWhenTheBatchAllowsTwoChunks()
    {
        Assume.That(Vector512.IsHardwareAccelerated, "needs accelerated Vector512");
        var keras64 = ConvGeometry.Create(15, 15, 64, 3, 3, 1, 1, false);
        Assert.Multiple(() =>
        {
            // Pooled by F(4×4): 3 × 3 tiles per image, so 8 images for whole blocks; by F(2×2) 6 × 6, whole at 2.
            Assert.That(WinogradConv.ImagesPerChunk(keras64, pooled: true, 4, images: 2, batch: 32), Is.EqualTo(8));
            Assert.That(WinogradConv.ImagesPerChunk(keras64, pooled: true, 2, images: 2, batch: 32), Is.EqualTo(2));
            Assert.That(WinogradConv.ImagesPerChunk(keras64, pooled: false, 4, images: 2, batch: 32), Is.EqualTo(2), "16 tiles an image");
            Assert.That(WinogradConv.ImagesPerChunk(keras64, pooled: true, 4, images: 2, batch: 8), Is.EqualTo(2), "one chunk would idle a worker");
            Assert.That(WinogradConv.ImagesPerChunk(ConvGeometry.Create(9, 9, 16, 3, 3, 1, 1, false), pooled: false, 4, images: 3, batch: 64),
                Is.EqualTo(4), "7×7 outputs: 2 × 2 tiles an image, so 3 images (12 tiles) round up to 4 (16)");
        });
    }

    [Test]
    public void ChunksOfWholeBlocksGiveThePooledForwardTheSameBitsAsPoolingItsOwnPlainOutput()
    {
        // 16 images of the Keras 64 → 64 layer: the pooled forward runs 2 chunks of 8 images, the plain one 8 of 2.
        (ConvGeometry g, ConvGeometry pool) = Pooled(15, 15, 64, 64, same: false, inputGradient: false);
        const int batch = 16;
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, 64);
        var plain = new float[batch * g.OutputPixels * 64];
        var y = new float[batch * pool.OutputPixels * 64];
        var argmax = new int[y.Length];
        With(winograd: true, 2, () =>
        {
            Conv2DKernels.Forward(x, k, bias, plain, batch, 64, g, relu: true);
            Conv2DKernels.ForwardMaxPool(x, k, bias, y, argmax, batch, 64, g, relu: true, pool);
            return 0;
        }, tile: 4);
        (float[] expectedY, int[] expectedIndex) = MaxPool(plain, batch, 64, g, pool, relu: true);
        Assert.That(y, Is.EqualTo(expectedY).AsCollection);
        Assert.That(argmax, Is.EqualTo(expectedIndex).AsCollection);
    }

    [TestCase(2)]
    [TestCase(4)]
    public void GradientCheckThroughTheOp(int tile)
    {
        // The forward, the input gradient and the weight gradient (F(3×3, 4×4)) all run Winograd: the central differences
        // of the Winograd forward must match both gradients within the check's tolerance.
        var g = ConvGeometry.Create(5, 6, 32, 3, 3, 1, 1, true);
        Assume.That(WinogradConv.Applies(g, 32) && WinogradConv.InputGradientApplies(g, 32), "needs accelerated Vector512");
        var x = GradientCheck.Random([2, 5, 6, 32], 61, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 32, 32], 62, awayFromZero: 0.1f);
        var b = GradientCheck.Random([32], 63);
        With(winograd: true, 1, () =>
        {
            // A linear convolution is linear in each input element, so the central difference is exact at any ε: only
            // round-off is left, and a large ε divides it down (F(4×4)'s larger round-off needs that at the default 1e-2).
            GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], (1, 1), (1, 1), ConvPadding.Same, ActivationFunction.Linear), [x, k, b],
                epsilon: 0.25f);
            return 0;
        }, tile);
    }

    [TestCase(2)]
    [TestCase(4)]
    public void AModelTrainsTheSameWithEitherForwardWithinRoundOff(int tile)
    {
        // The model's first layer (12×12×16 → 32 filters): Winograd's on AVX-512 and on AVX2 + FMA, else both trainings run the direct kernel.
        Assume.That(WinogradConv.Applies(ConvGeometry.Create(12, 12, 16, 3, 3, 1, 1, false), 32), "needs AVX-512, or AVX2 + FMA");
        float[] Train(bool winograd) => With(winograd, 2, TrainSmallModel, tile);
        AssertTrainedAlike(Train(winograd: false), Train(winograd: true));
    }

    /// <summary>
    /// A small model with two 3×3 convolutions (one pooled, one 'same') trained two epochs from a fixed seed; its
    /// parameters after. The Winograd tests train it with a kernel on and off.
    /// </summary>
    internal static float[] TrainSmallModel()
    {
        var model = new Sequential([12, 12, 16],
            new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Conv2D(32, 3, padding: "same"),
            new Flatten(), new Dense(10));
        model.Compile(new NanoNet.Optim.Sgd(0.05f), new Losses.MeanSquaredError(), seed: 3);
        model.Output = TextWriter.Null;
        Tensor x = Tensor.RandomUniform([24, 12, 12, 16], 0, 1, 97), targets = Tensor.RandomUniform([24, 10], 0, 1, 98);
        model.Fit(x, targets, batchSize: 8, epochs: 2, shuffle: false, verbose: 0);
        return [.. model.Parameters.SelectMany(p => p.ToArray())];
    }

    /// <summary>Two trainings' parameters differ (the kernels round differently) but agree within 1e−4.</summary>
    internal static void AssertTrainedAlike(float[] direct, float[] winograd)
    {
        Assert.That(winograd, Is.Not.EqualTo(direct).AsCollection, "the two kernels round differently: a test that cannot tell them apart proves nothing");
        for (int i = 0; i < direct.Length; i++)
            Assert.That(winograd[i], Is.EqualTo(direct[i]).Within(1e-4f * (1 + MathF.Abs(direct[i]))), $"parameter value [{i}]");
    }

    /// <summary>The convolution in double precision, and per output the sum of |terms| (the scale its rounding is measured against).</summary>
    private static double[] Exact(float[] x, float[] k, float[] bias, int batch, int filters, in ConvGeometry g, out double[] scale)
    {
        var y = new double[batch * g.OutputPixels * filters];
        var magnitude = new double[y.Length];
        for (int o = 0; o < y.Length; o++)
            (y[o], magnitude[o]) = (bias[o % filters], Math.Abs(bias[o % filters]));
        ForEachTerm(g, batch, filters, (xAt, kAt, yAt) =>
        {
            double term = (double)x[xAt] * k[kAt];
            y[yAt] += term;
            magnitude[yAt] += Math.Abs(term);
        });
        scale = magnitude;
        return y;
    }

    /// <summary>dX in double precision (col2im of dZ·wᵀ), and per element the sum of |terms|.</summary>
    private static double[] ExactInputGradient(float[] dZ, float[] k, int batch, int filters, in ConvGeometry g, out double[] scale)
    {
        var dX = new double[batch * g.InputImageSize];
        var magnitude = new double[dX.Length];
        ForEachTerm(g, batch, filters, (xAt, kAt, yAt) =>
        {
            double term = (double)dZ[yAt] * k[kAt];
            dX[xAt] += term;
            magnitude[xAt] += Math.Abs(term);
        });
        scale = magnitude;
        return dX;
    }

    /// <summary>
    /// Every term x[n, oh + kh − padTop, ow + kw − padLeft, c]·w[kh, kw, c, f] of the convolution whose input pixel lies in
    /// the image, as the indices (x, w, y) of its input, its weight and its output, in output order.
    /// </summary>
    internal static void ForEachTerm(in ConvGeometry g, int batch, int filters, Action<int, int, int> visit)
    {
        int c = g.Channels;
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int kh = 0; kh < 3; kh++)
                        for (int kw = 0; kw < 3; kw++)
                        {
                            int ih = oh + kh - g.PadTop, iw = ow + kw - g.PadLeft;
                            if ((uint)ih >= (uint)g.Height || (uint)iw >= (uint)g.Width)
                                continue;
                            for (int ch = 0; ch < c; ch++)
                                for (int f = 0; f < filters; f++)
                                    visit(((n * g.Height + ih) * g.Width + iw) * c + ch, ((kh * 3 + kw) * c + ch) * filters + f,
                                        ((n * g.OutputHeight + oh) * g.OutputWidth + ow) * filters + f);
                        }
    }

    /// <summary>2×2 / 2 max pooling with MaxPoolKernels' rule (first maximum wins, window order), and the ReLU's zeroed windows.</summary>
    private static (float[] Y, int[] Index) MaxPool(float[] plain, int batch, int filters, in ConvGeometry g, in ConvGeometry pool, bool relu)
    {
        var y = new float[batch * pool.OutputPixels * filters];
        var index = new int[y.Length];
        int imageSize = g.OutputPixels * filters;
        for (int n = 0; n < batch; n++)
            for (int ph = 0; ph < pool.OutputHeight; ph++)
                for (int pw = 0; pw < pool.OutputWidth; pw++)
                    for (int f = 0; f < filters; f++)
                    {
                        int best = -1;
                        float max = 0;
                        foreach ((int dh, int dw) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                        {
                            int at = ((2 * ph + dh) * g.OutputWidth + 2 * pw + dw) * filters + f;
                            float v = plain[n * imageSize + at];
                            if (best < 0 || v > max || (float.IsNaN(v) && !float.IsNaN(max)))
                                (best, max) = (at, v);
                        }
                        int o = ((n * pool.OutputHeight + ph) * pool.OutputWidth + pw) * filters + f;
                        y[o] = max;
                        index[o] = relu && !(max > 0) ? Conv2DKernels.ZeroedWindow : best;
                    }
        return (y, index);
    }

    private static (float[] X, float[] K, float[] Bias) Inputs(int batch, in ConvGeometry g, int filters) => DirectConvTests.Inputs(batch, g, filters);

    /// <summary>The convolution of a test case and the 2×2 / 2 pooling over its output; skips the case when the kernel cannot take it.</summary>
    private static (ConvGeometry Conv, ConvGeometry Pool) Pooled(int h, int w, int c, int filters, bool same, bool inputGradient)
    {
        var g = ConvGeometry.Create(h, w, c, 3, 3, 1, 1, same);
        Assume.That(inputGradient ? WinogradConv.InputGradientApplies(g, filters) : WinogradConv.Applies(g, filters),
            "needs accelerated Vector512, and C and F the kernel takes");
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, 2, 2, 2, 2, samePadding: false);
        Assume.That(DirectConvForward.PoolApplies(pool), "a 2×2 pooling the kernel fuses");
        return (g, pool);
    }

    /// <summary>Runs <paramref name="run"/> with the Winograd forward on or off and the thread count set (both process-wide), then restores them.</summary>
    internal static T With<T>(bool winograd, int threads, Func<T> run, int tile = 0)
    {
        (bool saved, int savedThreads, int savedTile) = (WinogradConv.Enabled, Parallelism.MaxThreads, WinogradConv.ForcedTile);
        (WinogradConv.Enabled, Parallelism.MaxThreads, WinogradConv.ForcedTile) = (winograd, threads, tile);
        try
        {
            return run();
        }
        finally
        {
            (WinogradConv.Enabled, Parallelism.MaxThreads, WinogradConv.ForcedTile) = (saved, savedThreads, savedTile);
        }
    }
}
