using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The input gradient with col2im in the product's epilogue (<see cref="DirectConvInputGradient"/>): bitwise the unfused
/// path's dX (dcol = dZ·wᵀ stored, then <see cref="Im2Col.Backward"/>), which these tests reach by switching
/// <see cref="DirectConv.Enabled"/> off, at 1, 2 and 3 threads; within round-off of <see cref="ConvReference"/>; added onto
/// what dX held; a gradient check; and the rule.
/// </summary>
[NonParallelizable] // switches DirectConv.Enabled, which is process-wide
public class DirectConvInputGradientTests
{
    // (batch, H, W, C, F, KH, KW, stride h, stride w, dilation h, dilation w, padding)
    private static readonly object[] Geometries =
    [
        new object[] { 3, 12, 12, 32, 32, 3, 3, 1, 1, 1, 1, ConvPadding.Valid }, // the Keras 32 → 32 layer's shape
        new object[] { 2, 9, 10, 32, 64, 3, 3, 1, 1, 1, 1, ConvPadding.Same },   // 32 → 64, 'same': taps past every edge dropped
        new object[] { 2, 9, 10, 64, 64, 3, 3, 1, 1, 1, 1, ConvPadding.Valid },  // C = 64: two panels per tap
        new object[] { 7, 5, 6, 32, 8, 3, 3, 1, 1, 1, 1, ConvPadding.Same },     // many images per chunk: tiles that span two images
        new object[] { 2, 7, 11, 32, 10, 3, 3, 1, 1, 1, 1, ConvPadding.Same },   // F = 10: not a multiple of a vector
        new object[] { 2, 9, 13, 32, 48, 3, 3, 2, 2, 1, 1, ConvPadding.Same },   // strides 2 on odd sizes
        new object[] { 2, 11, 12, 32, 16, 3, 3, 1, 1, 2, 2, ConvPadding.Valid }, // dilation 2
        new object[] { 2, 8, 8, 32, 32, 5, 5, 1, 1, 1, 1, ConvPadding.Same },    // a 5×5 kernel, padding 2 on every side
        new object[] { 2, 7, 9, 32, 32, 2, 4, 1, 2, 1, 1, ConvPadding.Same },    // even kernels: the odd padding row at the bottom, unequal strides
        new object[] { 3, 1, 20, 32, 16, 1, 3, 1, 1, 1, 2, ConvPadding.Causal }, // a Conv1D: causal, dilation 2
        new object[] { 1, 3, 3, 96, 5, 3, 3, 1, 1, 1, 1, ConvPadding.Valid },    // one output pixel: a tile of one row
    ];

    [TestCaseSource(nameof(Geometries))]
    public void InputGradientIsBitwiseTheUnfusedPathAndCloseToTheReference(int batch, int h, int w, int c, int filters, int kh, int kw,
        int sh, int sw, int dh, int dw, ConvPadding padding)
    {
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, dh, dw, padding);
        Assume.That(DirectConvInputGradient.Applies(g, filters), "needs accelerated Vector512");
        var rng = new Random(h * 131 + w * 7 + filters);
        float[] x = Random(batch * g.InputImageSize, rng), k = Random(g.PatchSize * filters, rng), bias = Random(filters, rng);
        float[] dY = Random(batch * g.OutputPixels * filters, rng), before = Random(x.Length, rng);
        var y = new float[dY.Length];
        Conv2DKernels.Forward(x, k, bias, y, batch, filters, g, relu: true);

        // dX starts from `before`: the kernel adds onto it. With and without the weight gradient beside it.
        float[] Run(bool fused, int threads, bool wantParameters) => With<float[]>(fused, threads, () =>
        {
            float[] dW = new float[wantParameters ? k.Length : 0], dB = new float[wantParameters ? filters : 0], dX = (float[])before.Clone();
            Conv2DKernels.Backward(x, k, y, (float[])dY.Clone(), dW, dB, dX, batch, filters, g, relu: true);
            return [.. dX, .. dW, .. dB];
        });
        float[] expected = Run(fused: false, threads: 1, wantParameters: true);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            Assert.That(Run(fused: true, threads, wantParameters: true), Is.EqualTo(expected).AsCollection, $"{threads} thread(s)");
            Assert.That(Run(fused: true, threads, wantParameters: false), Is.EqualTo(expected[..x.Length]).AsCollection, $"{threads} thread(s), dX alone");
        }

        float[] masked = new float[dY.Length], refW = new float[k.Length], refB = new float[filters], refX = new float[x.Length];
        for (int i = 0; i < dY.Length; i++) masked[i] = y[i] > 0 ? dY[i] : 0f;
        ConvReference.Conv2DBackward(x, k, masked, refW, refB, refX, batch, filters, g);
        for (int i = 0; i < refX.Length; i++)
        {
            float r = before[i] + refX[i];
            Assert.That(expected[i], Is.EqualTo(r).Within(1e-4f * (1 + MathF.Abs(r))), $"dX[{i}]");
        }
    }

    [Test]
    public void ThePooledBackwardsInputGradientIsBitwiseTheUnfusedPath()
    {
        var g = ConvGeometry.Create(13, 13, 64, 3, 3, 1, 1, samePadding: false); // the Keras 64 → 64 layer, then 2×2 pooling
        const int batch = 3, filters = 64;
        Assume.That(DirectConvInputGradient.Applies(g, filters), "needs accelerated Vector512");
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, 2, 2, 2, 2, samePadding: false);
        var rng = new Random(5);
        float[] x = Random(batch * g.InputImageSize, rng), k = Random(g.PatchSize * filters, rng), bias = Random(filters, rng);
        float[] Run(bool fused, int threads) => With<float[]>(fused, threads, () =>
        {
            var y = new float[batch * pool.OutputPixels * filters];
            var argmax = new int[y.Length];
            Conv2DKernels.ForwardMaxPool(x, k, bias, y, argmax, batch, filters, g, relu: true, pool);
            float[] dY = Random(y.Length, new Random(9)), dW = new float[k.Length], dB = new float[filters], dX = new float[x.Length];
            Conv2DKernels.BackwardMaxPool(x, k, argmax, dY, dW, dB, dX, batch, filters, g, pool);
            return [.. dX, .. dW, .. dB];
        });
        float[] expected = Run(fused: false, threads: 1);
        Assert.That(expected.Take(x.Length).Count(v => v != 0), Is.GreaterThan(x.Length / 2), "dX must carry gradient");
        foreach (int threads in new[] { 1, 2, 3 })
            Assert.That(Run(fused: true, threads), Is.EqualTo(expected).AsCollection, $"{threads} thread(s)");
    }

    [TestCase(true, false)]
    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public void AnOverwrittenInputGradientIsTheGradientAddedToZeros(bool fused, bool pooled)
    {
        // A new gradient (overwriteInput) may hold anything, here NaN: every chunk clears its own images before adding.
        var g = ConvGeometry.Create(11, 11, 32, 3, 3, 1, 1, samePadding: !pooled);
        const int batch = 5, filters = 32;
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, 2, 2, 2, 2, samePadding: false);
        var rng = new Random(17);
        float[] x = Random(batch * g.InputImageSize, rng), k = Random(g.PatchSize * filters, rng), bias = Random(filters, rng);
        var y = new float[batch * (pooled ? pool.OutputPixels : g.OutputPixels) * filters];
        var argmax = new int[pooled ? y.Length : 0];
        if (pooled)
            Conv2DKernels.ForwardMaxPool(x, k, bias, y, argmax, batch, filters, g, relu: true, pool);
        else
            Conv2DKernels.Forward(x, k, bias, y, batch, filters, g, relu: true);
        float[] dY = Random(y.Length, rng);
        float[] Run(int threads, bool overwrite, float start) => With<float[]>(fused, threads, () =>
        {
            float[] dW = new float[k.Length], dB = new float[filters], dX = new float[x.Length];
            Array.Fill(dX, start);
            if (pooled)
                Conv2DKernels.BackwardMaxPool(x, k, argmax, dY, dW, dB, dX, batch, filters, g, pool, overwrite);
            else
                Conv2DKernels.Backward(x, k, y, (float[])dY.Clone(), dW, dB, dX, batch, filters, g, relu: true, overwrite);
            return [.. dX, .. dW, .. dB];
        });
        float[] expected = Run(threads: 1, overwrite: false, start: 0f);
        Assert.That(expected.Take(x.Length).Count(v => v != 0), Is.GreaterThan(x.Length / 2), "dX must carry gradient");
        foreach (int threads in new[] { 1, 2, 3 })
            Assert.That(Run(threads, overwrite: true, start: float.NaN), Is.EqualTo(expected).AsCollection, $"{threads} thread(s)");
        // Without it, the taps are added onto what dX held (onto 1 they round differently from onto 0: within round-off).
        Assert.That(Run(threads: 2, overwrite: false, start: 1f).Take(x.Length), Is.EqualTo(expected.Take(x.Length).Select(v => 1f + v)).AsCollection.Within(1e-5f),
            "without overwriteInput the gradient is added onto what dX held");
    }

    [TestCase(ConvPadding.Valid)]
    [TestCase(ConvPadding.Same)]
    public void Conv2DGradientCheckThroughTheFusedInputGradient(ConvPadding padding)
    {
        Assume.That(DirectConvInputGradient.Applies(ConvGeometry.Create(4, 5, 32, 3, 3, 1, 1, 1, 1, padding), 6), "needs accelerated Vector512");
        var x = GradientCheck.Random([2, 4, 5, 32], 61, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 32, 6], 62, awayFromZero: 0.1f);
        var b = GradientCheck.Random([6], 63);
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], (1, 1), (1, 1), padding, ActivationFunction.Linear), [x, k, b]);
    }

    [Test]
    public void TheRuleTakesWholePanelsOfChannelsWithinOneKSlab()
    {
        Assume.That(Vector512.IsHardwareAccelerated, "needs accelerated Vector512");
        var g32 = ConvGeometry.Create(8, 8, 32, 3, 3, 1, 1, samePadding: true);
        var g64 = ConvGeometry.Create(8, 8, 64, 3, 3, 1, 1, samePadding: false);
        Assert.That(DirectConvInputGradient.Applies(g32, 10), Is.True, "any filter count within a K slab");
        Assert.That(DirectConvInputGradient.Applies(g64, Gemm.KC), Is.True);
        Assert.That(DirectConvInputGradient.Applies(g64, Gemm.KC + 1), Is.False, "F past one K slab: the GEMM would sum in two slabs");
        Assert.That(DirectConvInputGradient.Applies(ConvGeometry.Create(8, 8, 3, 3, 3, 1, 1, samePadding: true), 32), Is.False, "C = 3");
        Assert.That(DirectConvInputGradient.Applies(ConvGeometry.Create(8, 8, 48, 3, 3, 1, 1, samePadding: true), 32), Is.False, "C = 48");
    }

    private static float[] Random(int length, Random rng)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = rng.NextSingle() * 2 - 1;
        return values;
    }

    private static T With<T>(bool fused, int threads, Func<T> run) => DirectConvTests.With(fused, threads, run);
}
