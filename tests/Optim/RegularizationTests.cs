using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>L1/L2 and clipping as optimizer settings, on the hand problem's first step (θ₀ = [1, −2, 3], g₁ = [0.5, −1, 2]).</summary>
public class RegularizationTests
{
    private static float[] FirstStep(Optimizer optimizer)
    {
        Tensor p = HandSteps.Parameter(HandSteps.Start);
        HandSteps.SetGradient(p, HandSteps.Gradients[0]);
        optimizer.Step([p]);
        return p.ToArray();
    }

    [Test]
    public void L2AddsLambdaTimesWeight()
    {
        // g + 0.5·θ = [1, −2, 3.5]; θ − 0.25·that.
        HandSteps.AssertClose(FirstStep(new Sgd(0.25f) { L2 = 0.5f }), [0.75, -1.5, 2.125], "weights");
    }

    [Test]
    public void L1AddsLambdaTimesSignOfWeight()
    {
        // g + 0.5·sign(θ) = [1, −1.5, 2.5].
        HandSteps.AssertClose(FirstStep(new Sgd(0.25f) { L1 = 0.5f }), [0.75, -1.625, 2.375], "weights");
    }

    [Test]
    public void L1SignOfZeroIsZero()
    {
        var p = HandSteps.Parameter(0f);
        HandSteps.SetGradient(p, 0.5f);
        new Sgd(0.25f) { L1 = 0.5f }.Step([p]);
        Assert.That(p[0], Is.EqualTo(-0.125f));
    }

    [Test]
    public void ClipValueClampsEachElement()
    {
        // clamp(g, ±0.75) = [0.5, −0.75, 0.75].
        HandSteps.AssertClose(FirstStep(new Sgd(0.25f) { ClipValue = 0.75f }), [0.875, -1.8125, 2.8125], "weights");
    }

    [Test]
    public void ClippingHappensBeforeRegularization()
    {
        // clamp(g, ±0.75) + 0.5·θ = [1, −1.75, 2.25].
        HandSteps.AssertClose(FirstStep(new Sgd(0.25f) { ClipValue = 0.75f, L2 = 0.5f }), [0.75, -1.5625, 2.4375], "weights");
    }

    [Test]
    public void RegularizationFeedsTheUpdateRuleNotJustSgd()
    {
        // Momentum, first step: v = g + 0.5·θ = [1, −2, 3.5], θ − 0.25·v, same as SGD on step 1;
        // step 2 (g = 0): v = 0.5·v + 0.5·θ₁.
        var p = HandSteps.Parameter(HandSteps.Start);
        var momentum = new Momentum(0.25f, 0.5f) { L2 = 0.5f };
        HandSteps.SetGradient(p, HandSteps.Gradients[0]);
        momentum.Step([p]);
        HandSteps.AssertClose(p.ToArray(), [0.75, -1.5, 2.125], "after step 1");
        HandSteps.SetGradient(p, 0f, 0f, 0f);
        momentum.Step([p]);
        // v = [0.5 + 0.375, −1 − 0.75, 1.75 + 1.0625] = [0.875, −1.75, 2.8125].
        HandSteps.AssertClose(p.ToArray(), [0.53125, -1.0625, 1.421875], "after step 2");
    }

    [Test]
    public void GlobalClipNormScalesAllParametersTogether()
    {
        // Gradients [3, 4] and [12]: global norm 13; max 6.5 halves them to [1.5, 2] and [6].
        var a = HandSteps.Parameter(1f, 1f);
        var b = HandSteps.Parameter(1f);
        HandSteps.SetGradient(a, 3f, 4f);
        HandSteps.SetGradient(b, 12f);
        var sgd = new Sgd(0.25f) { GlobalClipNorm = 6.5f };
        sgd.Step([a, b]);
        Assert.That(sgd.LastGlobalNorm, Is.EqualTo(13f));
        HandSteps.AssertClose(a.ToArray(), [0.625, 0.5], "a");
        HandSteps.AssertClose(b.ToArray(), [-0.5], "b");
        // The raw gradients are left as they were (the scaling is fused into the update).
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { 3f, 4f }));
    }

    [Test]
    public void GlobalClipNormLeavesSmallGradientsAlone()
    {
        var a = HandSteps.Parameter(1f, 1f);
        HandSteps.SetGradient(a, 3f, 4f);
        var sgd = new Sgd(0.25f) { GlobalClipNorm = 5f };
        sgd.Step([a]);
        Assert.That(sgd.LastGlobalNorm, Is.EqualTo(5f));
        HandSteps.AssertClose(a.ToArray(), [0.25, 0], "a");
    }

    [Test]
    public void GlobalClipNormThenClipValue()
    {
        // [3, 4] → scaled by 2.5/5 to [1.5, 2] → clamped to ±1.75: [1.5, 1.75].
        var a = HandSteps.Parameter(0f, 0f);
        HandSteps.SetGradient(a, 3f, 4f);
        new Sgd(1f) { GlobalClipNorm = 2.5f, ClipValue = 1.75f }.Step([a]);
        HandSteps.AssertClose(a.ToArray(), [-1.5, -1.75], "a");
    }

    [Test]
    public void LastGlobalNormIsNaNWhenNotClipping()
    {
        var a = HandSteps.Parameter(1f);
        var sgd = new Sgd();
        sgd.Step([a]);
        Assert.That(sgd.LastGlobalNorm, Is.NaN);
    }

    [Test]
    public void SettingsAreValidated()
    {
        var sgd = new Sgd();
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.L1 = -1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.L2 = float.NaN);
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.ClipValue = 0f);
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.GlobalClipNorm = float.PositiveInfinity);
        sgd.ClipValue = null;
        sgd.GlobalClipNorm = null;
    }

    [Test]
    public void GradientTransformScalarApply()
    {
        var transform = new GradientTransform(scale: 0.5f, clipValue: 0.75f, l1: 0.25f, l2: 0.5f);
        // 0.5·4 = 2 → clamp 0.75 → + 0.5·(−2) + 0.25·(−1) = −0.5.
        Assert.That(transform.Apply(4f, -2f), Is.EqualTo(-0.5f));
        Assert.That(GradientTransform.None.IsIdentity, Is.True);
        Assert.That(GradientTransform.None.Apply(3f, 7f), Is.EqualTo(3f));
        Assert.That(default(GradientTransform).Scale, Is.EqualTo(1f));
        Assert.That(default(GradientTransform).ClipValue, Is.EqualTo(float.PositiveInfinity));
    }
}
