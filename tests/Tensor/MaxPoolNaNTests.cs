using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Max pooling's fast 2×2 path, its generic path and inference all follow the reference's rule on NaN
/// and −∞: a NaN propagates (the first NaN of a window wins) and a window of −∞ or NaN routes its
/// gradient to its own first element, never to element 0 of the batch.
/// </summary>
public class MaxPoolNaNTests
{
    // (pool, stride, same, H, W, C): 2×2/2 with C a multiple of 16 (of 8 on AVX2) takes the fast path; the others the generic
    // path (vector lanes and the scalar channel tail).
    [TestCase(2, 2, false, 6, 6, 16)]
    [TestCase(2, 2, false, 4, 6, 32)]
    [TestCase(2, 2, false, 6, 6, 24)] // a multiple of 8, not of 16: the 8-lane fast path on AVX2, the generic one on AVX-512
    [TestCase(2, 2, false, 6, 6, 19)]
    [TestCase(3, 2, true, 7, 5, 19)]
    [TestCase(3, 1, false, 5, 5, 3)]
    public void NaNAndNegativeInfinityFollowTheReference(int pool, int stride, bool same, int h, int w, int c)
    {
        const int batch = 3;
        var g = ConvGeometry.Create(h, w, c, pool, pool, stride, stride, same);
        float[] values = Tensor.RandomUniform([batch, h, w, c], -1, 1, 60).ToArray();
        var random = new Random(61);
        for (int i = 0; i < values.Length; i++)
        {
            int draw = random.Next(10);
            if (draw == 0) values[i] = float.NaN;
            else if (draw == 1) values[i] = float.NegativeInfinity;
        }
        // Image 1 is all −∞ and image 2's first rows all NaN: whole windows with no finite value.
        Array.Fill(values, float.NegativeInfinity, h * w * c, h * w * c);
        Array.Fill(values, float.NaN, 2 * h * w * c, 2 * w * c);

        int outputs = batch * g.OutputPixels * c;
        var expected = new float[outputs];
        var winners = new int[outputs];
        ConvReference.MaxPoolForward(values, expected, winners, batch, g);
        Tensor dY = Tensor.RandomUniform([batch, g.OutputHeight, g.OutputWidth, c], 1, 2, 62);
        var expectedGradient = new float[values.Length];
        for (int o = 0; o < outputs; o++)
            expectedGradient[winners[o]] += dY[o];

        var x = Tensor.FromArray(values, batch, h, w, c).AsParameter();
        Tensor y = Ops.MaxPool2D(x, pool, pool, stride, stride, same);
        Assert.That(y.ToArray(), Is.EqualTo(expected).AsCollection, "training forward");
        Ops.Sum(Ops.Multiply(y, dY)).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(expectedGradient).AsCollection, "gradient");

        using (Autograd.Tape.NoGrad())
            Assert.That(Ops.MaxPool2D(x, pool, pool, stride, stride, same).ToArray(), Is.EqualTo(expected).AsCollection, "inference forward");
    }

    [Test]
    public void AnAllNegativeInfinityWindowSendsItsGradientToItsOwnFirstElement()
    {
        // Two images of one 2×2 window, 16 channels (fast path): image 1 is all −∞.
        float[] values = new float[2 * 2 * 2 * 16];
        Array.Fill(values, float.NegativeInfinity, 64, 64);
        var x = Tensor.FromArray(values, 2, 2, 2, 16).AsParameter();
        Ops.Sum(Ops.MaxPool2D(x, 2, 2, 2, 2)).Backward();
        float[] gradient = x.Grad!.ToArray();
        for (int ch = 0; ch < 16; ch++)
        {
            Assert.That(gradient[ch], Is.EqualTo(1f), $"image 0, channel {ch}: its first element (a tie of zeros)");
            Assert.That(gradient[64 + ch], Is.EqualTo(1f), $"image 1, channel {ch}: its own first element");
        }
        Assert.That(gradient.Sum(), Is.EqualTo(32f), "no gradient lands anywhere else");
    }
}
