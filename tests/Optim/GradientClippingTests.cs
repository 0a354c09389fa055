using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class GradientClippingTests
{
    [Test]
    public void ClipByGlobalNormReturnsPreClipNormAndRescales()
    {
        var a = HandSteps.Parameter(0f, 0f);
        var b = HandSteps.Parameter(0f);
        var noGradient = Tensor.Zeros(4).AsParameter();
        HandSteps.SetGradient(a, 3f, 4f);
        HandSteps.SetGradient(b, 12f);
        float norm = GradientClipping.ClipByGlobalNorm([a, noGradient, b], 6.5f);
        Assert.That(norm, Is.EqualTo(13f));
        HandSteps.AssertClose(a.Grad!.ToArray(), [1.5, 2], "a");
        HandSteps.AssertClose(b.Grad!.ToArray(), [6], "b");
        Assert.That(GradientClipping.GlobalNorm([a, b]), Is.EqualTo(6.5f).Within(1e-6f));
    }

    [Test]
    public void ClipByGlobalNormBelowTheBoundChangesNothing()
    {
        var a = HandSteps.Parameter(0f, 0f);
        HandSteps.SetGradient(a, 3f, 4f);
        Assert.That(GradientClipping.ClipByGlobalNorm([a], 10f), Is.EqualTo(5f));
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { 3f, 4f }));
    }

    [Test]
    public void ClipByGlobalNormLeavesNonFiniteGradientsAlone()
    {
        var a = HandSteps.Parameter(0f, 0f);
        HandSteps.SetGradient(a, float.PositiveInfinity, 1f);
        Assert.That(GradientClipping.ClipByGlobalNorm([a], 1f), Is.EqualTo(float.PositiveInfinity));
        Assert.That(a.Grad![1], Is.EqualTo(1f));
    }

    [Test]
    public void GlobalNormOfLongTensorsUsesTheVectorLoopAndTail()
    {
        // 1² + ... + 20² = 2870, plus 3·0.5² = 0.75: √2870.75 = 53.5793804.
        var a = HandSteps.Parameter(new float[20]);
        HandSteps.SetGradient(a, Enumerable.Range(1, 20).Select(i => (float)i).ToArray());
        var b = HandSteps.Parameter(0f, 0f, 0f);
        HandSteps.SetGradient(b, 0.5f, 0.5f, 0.5f);
        Assert.That(GradientClipping.GlobalNorm([a, b]), Is.EqualTo(53.5793804f).Within(1e-6 * 53.58));
    }

    [Test]
    public void ClipByValueClampsEveryElement()
    {
        var a = HandSteps.Parameter(0f, 0f, 0f);
        HandSteps.SetGradient(a, -3f, 0.5f, 2f);
        GradientClipping.ClipByValue([a], 1f);
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { -1f, 0.5f, 1f }));
    }

    [Test]
    public void BoundsAreValidated()
    {
        var a = HandSteps.Parameter(0f);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm([a], 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByValue([a], -1f));
    }
}
