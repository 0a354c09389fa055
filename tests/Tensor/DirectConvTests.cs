using System.Runtime.Intrinsics;
using NanoNet.Kernels;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// The direct (implicit-im2col) convolution for short kernel rows (<see cref="DirectConv"/>): its forward, its pooled
/// forward with the argmax, and its weight gradient, bitwise against the im2col path (the same sums in the same order)
/// and within round-off of <see cref="ConvReference"/>, at 1, 2 and 3 threads; gradient checks; a model trained both ways.
/// Without AVX-512 the forward tests check the AVX2 kernel (<see cref="DirectConvForward256"/>) the same way.
/// </summary>
[NonParallelizable] // switches DirectConv.Enabled, which is process-wide
public class DirectConvTests
{
    // (batch, H, W, C, F, KH, KW, stride h, stride w, same)
    private static readonly object[] Geometries =
    [
        new object[] { 5, 32, 32, 3, 32, 3, 3, 1, 1, false },  // the CIFAR-10 seed stem: chunks of 2 images, the last partial; OW = 30: an overlapping last quad
        new object[] { 3, 32, 32, 3, 32, 3, 3, 1, 1, true },   // the Keras stem: a zero-bordered copy of each image; OW = 32: four 6-pixel tiles, two 4-pixel ones
        new object[] { 3, 11, 9, 1, 32, 3, 3, 1, 1, true },    // C = 1 (runs of 3: 1-row tiles), odd sizes, odd OH
        new object[] { 4, 13, 10, 4, 64, 3, 3, 1, 1, false },  // C = 4 (runs of 12: 8- and 4-row tiles), two filter blocks
        new object[] { 3, 17, 15, 3, 32, 3, 3, 2, 2, true },   // strides 2, 'same' on odd sizes
        new object[] { 2, 9, 12, 2, 32, 5, 5, 1, 1, true },    // a 5×5 kernel, padding 2 on every side
        new object[] { 2, 10, 19, 3, 32, 2, 5, 1, 2, true },   // an even kernel height (the odd padding row at the bottom), unequal strides
        new object[] { 1, 4, 8, 3, 32, 3, 3, 1, 1, true },     // one tile row pair, one image
        new object[] { 3, 10, 11, 3, 64, 3, 3, 1, 1, true },   // a fused stem with two filter blocks; 8-row bands straddling images
        new object[] { 2, 13, 8, 3, 32, 5, 3, 1, 1, false },   // a fused stem with 5 kernel rows (9-float kernel rows, 5 chain sets)
        new object[] { 3, 12, 12, 32, 32, 3, 3, 1, 1, true },  // the Keras 32 → 32 layer's shape (runs of 96; P = 288 over one KC slab)
        new object[] { 2, 9, 10, 64, 64, 3, 3, 1, 1, false },  // the Keras 64 → 64 layer's (runs of 192, P = 576: three slabs)
        new object[] { 2, 8, 9, 32, 32, 4, 4, 1, 1, false },   // P = 512, a multiple of KC = 256: the ones column a slab of its own
        new object[] { 2, 7, 9, 32, 32, 2, 4, 1, 1, true },    // 'same' with even kernels over 32 channels: uneven padding, P = 256
        new object[] { 1, 31, 8, 3, 32, 29, 3, 1, 1, false },  // a 29×3 RGB kernel: P = 261 past one KC slab (the ReLU's bits from the stored outputs)
        new object[] { 2, 9, 14, 5, 16, 3, 3, 1, 1, true },    // 16 filters (the AVX2 kernel only), OW = 14: a 6-pixel tile and two 4-pixel ones
        new object[] { 2, 9, 13, 3, 32, 3, 3, 1, 1, true },    // OW = 13: a 6-pixel tile and two 4-pixel ones, the last moved back one pixel
        new object[] { 2, 6, 7, 3, 32, 3, 3, 1, 1, true },     // OW = 7: a 6-pixel tile and a 4-pixel one moved back three
    ];

    [TestCaseSource(nameof(Geometries))]
    public void ForwardIsBitwiseTheIm2ColPathAndCloseToTheReference(int batch, int h, int w, int c, int filters, int kh, int kw, int sh, int sw, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, same);
        Assume.That(DirectConv.Applies(g, filters) || DirectConvForward256.Applies(g, filters), "needs AVX-512, or AVX2 + FMA");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        foreach (bool relu in new[] { false, true })
        {
            float[] Run(bool direct, int threads) => With(direct, threads, () =>
            {
                var y = new float[batch * g.OutputPixels * filters];
                y.AsSpan().Fill(float.NaN); // every element must be written
                Conv2DKernels.Forward(x, k, bias, y, batch, filters, g, relu);
                return y;
            });
            float[] expected = Run(direct: false, threads: 1);
            foreach (int threads in new[] { 1, 2, 3 })
                Assert.That(Run(direct: true, threads), Is.EqualTo(expected).AsCollection, $"relu {relu}, {threads} thread(s)");

            var reference = new float[expected.Length];
            ConvReference.Conv2DForward(x, k, bias, reference, batch, filters, g);
            for (int i = 0; i < reference.Length; i++)
            {
                float r = relu ? MathF.Max(reference[i], 0f) : reference[i];
                Assert.That(expected[i], Is.EqualTo(r).Within(1e-4f * (1 + MathF.Abs(r))), $"[{i}]");
            }
        }
    }

    [TestCaseSource(nameof(Geometries))]
    public void PooledForwardGivesTheIm2ColPathsMaximaAndIndicesBitwise(int batch, int h, int w, int c, int filters, int kh, int kw, int sh, int sw, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, same);
        Assume.That(DirectConv.Applies(g, filters) || DirectConvForward256.Applies(g, filters), "needs AVX-512, or AVX2 + FMA");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        // 2×2 / 2 pools in registers (when the conv output is at least 2×4); 3×3 / 2 runs the direct convolution, then the pooling kernel.
        foreach ((int window, bool relu) in new[] { (2, true), (2, false), (3, true) })
        {
            if (g.OutputHeight < window || g.OutputWidth < window)
                continue;
            var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, window, window, 2, 2, samePadding: false);
            (float[] Y, int[] Index, float[] Inference) Run(bool direct, int threads) => With(direct, threads, () =>
            {
                var y = new float[batch * pool.OutputPixels * filters];
                var argmax = new int[y.Length];
                var inference = new float[y.Length];
                y.AsSpan().Fill(float.NaN);
                Conv2DKernels.ForwardMaxPool(x, k, bias, y, argmax, batch, filters, g, relu, pool);
                Conv2DKernels.ForwardMaxPool(x, k, bias, inference, default, batch, filters, g, relu, pool);
                return (y, argmax, inference);
            });
            var expected = Run(direct: false, threads: 1);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var actual = Run(direct: true, threads);
                Assert.That(actual.Y, Is.EqualTo(expected.Y).AsCollection, $"{window}×{window}, relu {relu}: maxima, {threads} thread(s)");
                Assert.That(actual.Index, Is.EqualTo(expected.Index).AsCollection, $"{window}×{window}, relu {relu}: argmax, {threads} thread(s)");
                Assert.That(actual.Inference, Is.EqualTo(expected.Y).AsCollection, $"{window}×{window}, relu {relu}: inference, {threads} thread(s)");
            }
        }
    }

    [TestCaseSource(nameof(Geometries))]
    public void WeightGradientIsBitwiseTheIm2ColPathAndCloseToTheReference(int batch, int h, int w, int c, int filters, int kh, int kw, int sh, int sw, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, same);
        Assume.That(DirectConv.Applies(g, filters) || DirectConvWeightGradient.Applies256(g, filters), "needs AVX-512, or AVX2 + FMA");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        (float[] dY, float[] y) = ReluOutputAndGradient(x, k, bias, batch, g, filters, seed: 7);

        // [dW; db] and, through the fallback, dX when the input gradient is wanted (a stem's input that requires grad);
        // without dX a 3×3 RGB stem masks dY in registers (DirectConvWeightGradient.ComputeMasked).
        float[] Run(bool direct, int threads, bool wantInput) => With<float[]>(direct, threads, () =>
        {
            float[] dW = new float[k.Length], dB = new float[filters], dX = new float[wantInput ? x.Length : 0], dZ = (float[])dY.Clone();
            Conv2DKernels.Backward(x, k, y, dZ, dW, dB, dX, batch, filters, g, relu: true);
            return [.. dW, .. dB, .. dX];
        });
        float[] expected = Run(direct: false, threads: 1, wantInput: true);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            Assert.That(Run(direct: true, threads, wantInput: true), Is.EqualTo(expected).AsCollection, $"{threads} thread(s)");
            Assert.That(Run(direct: true, threads, wantInput: false), Is.EqualTo(expected[..(k.Length + filters)]).AsCollection, $"{threads} thread(s), no dX");
        }

        float[] masked = new float[dY.Length], refW = new float[k.Length], refB = new float[filters], refX = new float[x.Length];
        for (int i = 0; i < dY.Length; i++) masked[i] = y[i] > 0 ? dY[i] : 0f;
        ConvReference.Conv2DBackward(x, k, masked, refW, refB, refX, batch, filters, g);
        float[] reference = [.. refW, .. refB, .. refX];
        for (int i = 0; i < reference.Length; i++)
            Assert.That(expected[i], Is.EqualTo(reference[i]).Within(1e-4f * (1 + MathF.Abs(reference[i]))), $"[{i}]");
    }

    [TestCaseSource(nameof(Geometries))]
    public void AStemKeepsItsReluAsBitsAndItsWeightGradientReadsThemInsteadOfY(int batch, int h, int w, int c, int filters, int kh, int kw,
        int sh, int sw, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, same);
        Assume.That(DirectConv.Applies(g, filters) || DirectConvForward256.Applies(g, filters), "needs AVX-512, or AVX2 + FMA");
        Assume.That(filters % 32 == 0, "an int of bits holds 32 filters");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        (float[] dY, float[] y) = ReluOutputAndGradient(x, k, bias, batch, g, filters, seed: 11);
        // [dW; db] and dX on the im2col path: from dY masked by y.
        float[] expected = With<float[]>(direct: false, threads: 1, () =>
        {
            float[] dW = new float[k.Length], dB = new float[filters], dX = new float[x.Length];
            Conv2DKernels.Backward(x, k, y, (float[])dY.Clone(), dW, dB, dX, batch, filters, g, relu: true);
            return [.. dW, .. dB, .. dX];
        });
        int parameters = k.Length + filters;
        int length = ReluBits.Length((long)batch * g.OutputPixels, filters);
        foreach (int threads in new[] { 1, 2, 3 })
            With(direct: true, threads, () =>
            {
                var bits = new int[length];
                if (!Conv2DKernels.KeepsReluBits(g, filters)) // not a 3×3 RGB stem: asking for the bits is an error
                {
                    Assert.Throws<ArgumentException>(() => Conv2DKernels.Forward(x, k, bias, new float[y.Length], batch, filters, g, relu: true, bits));
                    return 0;
                }
                bits.AsSpan().Fill(0x5A5A5A5A); // every int must be written
                var yWithBits = new float[y.Length];
                Conv2DKernels.Forward(x, k, bias, yWithBits, batch, filters, g, relu: true, bits);
                Assert.That(yWithBits, Is.EqualTo(y).AsCollection, $"{threads} thread(s): y");
                for (int o = 0; o < y.Length; o++)
                    Assert.That((bits[o / 32] >> (o % 32) & 1) == 1, Is.EqualTo(y[o] > 0), $"{threads} thread(s): bit of output {o}");
                // y all NaN: a backward that read y instead of the bits would mask everything to zero. Without dX (a stem)
                // and with it (dZ made by a pass over dY first; on AVX-512 without dX, in the fused tiles).
                var noY = new float[y.Length];
                noY.AsSpan().Fill(float.NaN);
                float[] dW = new float[k.Length], dB = new float[filters], dX = new float[x.Length];
                Conv2DKernels.Backward(x, k, noY, (float[])dY.Clone(), dW, dB, default, batch, filters, g, relu: true, reluBits: bits);
                Assert.That((float[])[.. dW, .. dB], Is.EqualTo(expected[..parameters]).AsCollection, $"{threads} thread(s): [dW; db]");
                (dW, dB) = (new float[k.Length], new float[filters]); // the backward adds to them
                Conv2DKernels.Backward(x, k, noY, (float[])dY.Clone(), dW, dB, dX, batch, filters, g, relu: true, reluBits: bits);
                Assert.That((float[])[.. dW, .. dB, .. dX], Is.EqualTo(expected).AsCollection, $"{threads} thread(s): [dW; db; dX]");
                return 0;
            });
    }

    [Test]
    public void ReluBitsOfTheWrongLengthOrWithoutTheReluAreRefused()
    {
        var g = ConvGeometry.Create(8, 8, 3, 3, 3, 1, 1, true);
        Assume.That(Conv2DKernels.KeepsReluBits(g, 32), "needs AVX-512, or AVX2 + FMA");
        (float[] x, float[] k, float[] bias) = Inputs(2, g, 32);
        float[] y = new float[2 * g.OutputPixels * 32], dW = new float[k.Length];
        int length = ReluBits.Length(2L * g.OutputPixels, 32);
        var forward = Assert.Throws<ArgumentException>(() => Conv2DKernels.Forward(x, k, bias, y, 2, 32, g, relu: true, new int[length - 1]));
        Assert.That(forward!.Message, Does.Contain($"{length} ints").And.Contain($"got {length - 1}"));
        Assert.Throws<ArgumentException>(() => Conv2DKernels.Forward(x, k, bias, y, 2, 32, g, relu: false, new int[length]));
        var backward = Assert.Throws<ArgumentException>(() =>
            Conv2DKernels.Backward(x, k, y, (float[])y.Clone(), dW, [], default, 2, 32, g, relu: true, reluBits: new int[length - 1]));
        Assert.That(backward!.Message, Does.Contain($"{length} ints"));
    }

    [TestCaseSource(nameof(Geometries))]
    public void PooledBackwardIsBitwiseTheIm2ColPath(int batch, int h, int w, int c, int filters, int kh, int kw, int sh, int sw, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, same);
        Assume.That(DirectConv.Applies(g, filters), "needs accelerated Vector512");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, 2, 2, 2, 2, samePadding: false);
        // With dX wanted, and without it (a stem: the weight gradient alone).
        foreach (bool wantInput in new[] { true, false })
        {
            float[] expected = Run(direct: false, threads: 1, wantInput);
            foreach (int threads in new[] { 1, 2, 3 })
                Assert.That(Run(direct: true, threads, wantInput), Is.EqualTo(expected).AsCollection, $"{threads} thread(s), dX {wantInput}");
        }

        float[] Run(bool direct, int threads, bool wantInput) => With<float[]>(direct, threads, () =>
        {
            var y = new float[batch * pool.OutputPixels * filters];
            var argmax = new int[y.Length];
            Conv2DKernels.ForwardMaxPool(x, k, bias, y, argmax, batch, filters, g, relu: true, pool);
            var rng = new Random(9);
            float[] dY = new float[y.Length];
            for (int i = 0; i < dY.Length; i++) dY[i] = rng.NextSingle() * 2 - 1;
            float[] dW = new float[k.Length], dB = new float[filters], dX = new float[wantInput ? x.Length : 0];
            Conv2DKernels.BackwardMaxPool(x, k, argmax, dY, dW, dB, dX, batch, filters, g, pool);
            return [.. y, .. argmax.Select(i => (float)i), .. dW, .. dB, .. dX];
        });
    }

    /// <summary>The fused stem weight gradients (masked and pooled) walk the output rows in bands sized from L1d: the bits
    /// are the same at every band height (each chain still takes the pixels in order), and bands cut across images.</summary>
    // The geometries whose weight gradient is fused (DirectConvWeightGradient.FusesGradient: kernel rows of 9 floats).
    private static IEnumerable<object[]> FusedGeometries() => Geometries.Cast<object[]>().Where(row =>
        DirectConvWeightGradient.FusesGradient(ConvGeometry.Create((int)row[1], (int)row[2], (int)row[3], (int)row[5], (int)row[6],
            (int)row[7], (int)row[8], (bool)row[9])));

    [TestCaseSource(nameof(FusedGeometries))]
    public void TheFusedWeightGradientsKeepTheirBitsAtEveryBandHeight(int batch, int h, int w, int c, int filters, int kh, int kw, int sh, int sw, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, same);
        Assume.That(DirectConv.Applies(g, filters) && DirectConvWeightGradient.FusesGradient(g), "a fused stem weight gradient (AVX-512)");
        (float[] x, float[] k, float[] bias) = Inputs(batch, g, filters);
        (float[] dY, float[] y) = ReluOutputAndGradient(x, k, bias, batch, g, filters, seed: 7);
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, 2, 2, 2, 2, samePadding: false);
        bool pooled = DirectConvWeightGradient.TakesPooling(g, pool);
        var pooledY = new float[batch * pool.OutputPixels * filters];
        var argmax = new int[pooledY.Length];
        if (pooled)
            Conv2DKernels.ForwardMaxPool(x, k, bias, pooledY, argmax, batch, filters, g, relu: true, pool);

        // [dW; db] without dX: masked (dY through the ReLU's mask), and pooled (through the 2×2 pooling) where it applies.
        float[] Run(long l1DataBytes)
        {
            long saved = DirectConvWeightGradient.BandL1DataBytes;
            DirectConvWeightGradient.BandL1DataBytes = l1DataBytes;
            try
            {
                float[] dW = new float[k.Length], dB = new float[filters], pooledW = new float[k.Length], pooledB = new float[filters];
                Conv2DKernels.Backward(x, k, y, (float[])dY.Clone(), dW, dB, [], batch, filters, g, relu: true);
                if (pooled)
                    Conv2DKernels.BackwardMaxPool(x, k, argmax, dY.AsSpan(0, pooledY.Length).ToArray(), pooledW, pooledB, [], batch, filters, g, pool);
                return [.. dW, .. dB, .. pooledW, .. pooledB];
            }
            finally
            {
                DirectConvWeightGradient.BandL1DataBytes = saved;
            }
        }
        float[] expected = Run(CpuCaches.OfThisMachine.L1Data);
        long bytesPerRow = (long)g.OutputWidth * 32 * sizeof(float);
        foreach (int rows in new[] { 1, 2, 3, 5, 8 })
        {
            Assert.That(DirectConvWeightGradient.BandRows(g.OutputWidth, 3 * rows * bytesPerRow), Is.EqualTo(rows));
            Assert.That(Run(3 * rows * bytesPerRow), Is.EqualTo(expected).AsCollection, $"bands of {rows} row(s)");
        }
    }

    /// <summary>The band height from the recorded caches: a block of dZ of at most a third of L1d, 1 to 8 rows.</summary>
    [Test]
    public void TheBandsAreCutFromTheL1DataCache()
    {
        static CpuCaches Recorded(string machine) => CpuCaches.FromSysfs(Path.Combine(AppContext.BaseDirectory, "Tensor", "CpuCaches", machine))!;
        foreach (string machine in new[] { "zen5-epyc-9005", "sapphire-rapids-xeon-8480", "emerald-rapids-xeon-kvm" })
        {
            long l1 = Recorded(machine).L1Data; // 48 KB
            Assert.That(DirectConvWeightGradient.BandRows(32, l1), Is.EqualTo(4), $"{machine}: the Keras stem's 32 pixels (16 KB)");
            Assert.That(DirectConvWeightGradient.BandRows(30, l1), Is.EqualTo(4), $"{machine}: the CIFAR-10 seed's 30 pixels");
        }
        Assert.That(DirectConvWeightGradient.BandRows(32, Recorded("zen4-epyc-vm").L1Data), Is.EqualTo(2), "a 32 KB L1d");
        Assert.That(DirectConvWeightGradient.BandRows(4, 48 * 1024), Is.EqualTo(8), "at most 8 rows");
        Assert.That(DirectConvWeightGradient.BandRows(224, 48 * 1024), Is.EqualTo(1), "at least one row");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Conv2DGradientCheckOnTheDirectPath(bool same)
    {
        var g = ConvGeometry.Create(6, 7, 3, 3, 3, 1, 1, same);
        Assume.That(DirectConv.Applies(g, 32), "needs accelerated Vector512");
        var x = GradientCheck.Random([2, 6, 7, 3], 91, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 3, 32], 92, awayFromZero: 0.1f);
        var b = GradientCheck.Random([32], 93);
        // No ReLU: with 1,280 outputs some pre-activation would sit within ε of its kink (the ReLU mask is the im2col path's, unchanged).
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], (1, 1), (1, 1), same ? ConvPadding.Same : ConvPadding.Valid, ActivationFunction.Linear),
            [x, k, b]);
    }

    [TestCase(101)]
    [TestCase(105)]
    public void FusedConvMaxPoolGradientCheckOnTheDirectPath(int seed)
    {
        // 256 windows of 4 candidates: at most seeds (94, 102, 103, 104 tried) two candidates of some window lie within
        // the ε-step of each other and the max's kink fails the check, on the im2col path identically (the two paths give
        // the same bits). At these two seeds no window does, which the test verifies before the check; each of the four
        // failing seeds fails that premise (gaps of 0.0004–0.0012, or a winner within 0.0007 of the kink).
        var g = ConvGeometry.Create(4, 8, 3, 3, 3, 1, 1, samePadding: true);
        Assume.That(DirectConv.Applies(g, 32), "needs accelerated Vector512");
        var x = GradientCheck.Random([1, 4, 8, 3], seed, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 3, 32], seed + 1, awayFromZero: 0.1f);
        var b = GradientCheck.Random([32], seed + 2);
        // The premise, checked rather than assumed: in every window whose winner is above the ReLU's kink, the winner
        // leads the runner-up and stays away from the kink by more than a step of ε in one input can move a conv output
        // (|Δz| ≤ ε·max(1, |x|, |k|)); a window whose candidates are all below it passes no gradient.
        const float Epsilon = 1e-3f;
        float largest = Math.Max(1f, Math.Max(x.ToArray().Max(Math.Abs), k.ToArray().Max(Math.Abs)));
        float Margin = 2 * Epsilon * largest; // twice the most one ε-step can move a conv output (by x, k or b)
        float[] z = Ops.Conv2D(x, k, b, (1, 1), (1, 1), ConvPadding.Same, ActivationFunction.Linear).ToArray();
        for (int oh = 0; oh < 4; oh += 2)
            for (int ow = 0; ow < 8; ow += 2)
                for (int f = 0; f < 32; f++)
                {
                    float[] window = [z[(oh * 8 + ow) * 32 + f], z[(oh * 8 + ow + 1) * 32 + f], z[((oh + 1) * 8 + ow) * 32 + f], z[((oh + 1) * 8 + ow + 1) * 32 + f]];
                    Array.Sort(window);
                    bool dead = window[3] < -Margin; // every candidate below the ReLU's kink: the window passes no gradient
                    Assert.That(dead || window[3] > Margin && window[3] - window[2] > Margin, Is.True,
                        $"seed {seed}: window ({oh}, {ow}), filter {f} has a near-tie or a winner near 0 ({string.Join(", ", window)}): pick another seed");
                }
        GradientCheck.Check(t => Ops.Conv2DMaxPool2D(t[0], t[1], t[2], (1, 1), (1, 1), ConvPadding.Same, ActivationFunction.Relu, (2, 2), (2, 2), false),
            [x, k, b], epsilon: Epsilon);
    }

    [Test]
    public void TheRuleTakesShortKernelRowsAndLeavesTheRest()
    {
        Assume.That(Vector512.IsHardwareAccelerated, "needs accelerated Vector512");
        Assert.Multiple(() =>
        {
            Assert.That(DirectConv.Applies(ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, false), 32), Is.True, "the seed stem");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, true), 32), Is.True, "the Keras stem");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(32, 32, 32, 3, 3, 1, 1, true), 32), Is.True, "the Keras 32 → 32 layer");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(16, 16, 64, 3, 3, 1, 1, true), 64), Is.True, "the Keras 64 → 64 layer");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(16, 16, 128, 3, 3, 1, 1, true), 128), Is.False, "128 channels: im2col + GEMM");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, false), 16), Is.False, "16 filters");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(3, 32, 3, 3, 3, 1, 1, false), 32), Is.False, "one output row");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(32, 5, 3, 3, 3, 1, 1, false), 32), Is.False, "three output columns");
            Assert.That(DirectConv.Applies(ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, 2, 2, ConvPadding.Valid), 32), Is.False, "dilated");
        });
    }

    [TestCase(false)] // a stem and its pooling (one fused op)
    [TestCase(true)]  // the Keras cifar10_cnn's first two layers: a 'same' RGB stem, which keeps its ReLU as bits on the direct path, then 32 → 32
    public void AModelTrainsToTheSameWeightsBitwiseOnEitherPath(bool kerasStem)
    {
        int size = kerasStem ? 12 : 16;
        Layer[] Layers() => kerasStem
            ? [new Conv2D(32, 3, padding: "same", activation: ActivationFunction.Relu), new Conv2D(32, 3, activation: ActivationFunction.Relu),
                new Flatten(), new Dense(10)]
            : [new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(), new Dense(10)];
        float[] Train(bool direct) => With<float[]>(direct, 2, () =>
        {
            var model = new Sequential([size, size, 3], Layers());
            model.Compile(new Sgd(0.05f), new Losses.MeanSquaredError(), seed: 3);
            model.Output = TextWriter.Null;
            Tensor x = Tensor.RandomUniform([24, size, size, 3], 0, 1, 97), targets = Tensor.RandomUniform([24, 10], 0, 1, 98);
            model.Fit(x, targets, batchSize: 8, epochs: 2, shuffle: false, verbose: 0);
            return [.. model.Parameters.SelectMany(p => p.ToArray())];
        });
        float[] im2col = Train(direct: false);
        Assert.That(Train(direct: true), Is.EqualTo(im2col).AsCollection);
    }

    /// <summary>A random output gradient (seeded by <paramref name="seed"/>) and the ReLU convolution's output y for these inputs.</summary>
    private static (float[] DY, float[] Y) ReluOutputAndGradient(float[] x, float[] k, float[] bias, int batch, in ConvGeometry g, int filters, int seed)
    {
        var rng = new Random(seed);
        float[] dY = new float[batch * g.OutputPixels * filters];
        for (int i = 0; i < dY.Length; i++) dY[i] = rng.NextSingle() * 2 - 1;
        var y = new float[dY.Length];
        Conv2DKernels.Forward(x, k, bias, y, batch, filters, g, relu: true);
        return (dY, y);
    }

    /// <summary>Random x, kernel and bias for a batch of this convolution (seeded by its shape); the Winograd tests share them.</summary>
    internal static (float[] X, float[] K, float[] Bias) Inputs(int batch, in ConvGeometry g, int filters)
    {
        var rng = new Random(g.Height * 31 + g.Channels);
        float[] x = new float[batch * g.InputImageSize], k = new float[g.PatchSize * filters], bias = new float[filters];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < k.Length; i++) k[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < bias.Length; i++) bias[i] = rng.NextSingle() * 0.4f - 0.2f;
        return (x, k, bias);
    }

    /// <summary>Runs <paramref name="run"/> with the direct kernels (AVX-512's, the AVX2 forward and weight gradient) on or off (the Winograd forward off) and the thread count set (process-wide), then restores them.</summary>
    internal static T With<T>(bool direct, int threads, Func<T> run)
    {
        // The direct and im2col paths are compared bit for bit: the Winograd forward (other bits) stays off meanwhile.
        (bool savedDirect, bool saved256, bool savedWeights256, bool savedWinograd, int savedThreads) =
            (DirectConv.Enabled, DirectConvForward256.Enabled, DirectConvWeightGradient.Enabled256, WinogradConv.Enabled, Parallelism.MaxThreads);
        (DirectConv.Enabled, DirectConvForward256.Enabled, DirectConvWeightGradient.Enabled256, WinogradConv.Enabled, Parallelism.MaxThreads) =
            (direct, direct, direct, false, threads);
        try
        {
            return run();
        }
        finally
        {
            (DirectConv.Enabled, DirectConvForward256.Enabled, DirectConvWeightGradient.Enabled256, WinogradConv.Enabled, Parallelism.MaxThreads) =
                (savedDirect, saved256, savedWeights256, savedWinograd, savedThreads);
        }
    }
}
