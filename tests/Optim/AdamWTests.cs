using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class AdamWTests
{
    [Test]
    public void DefaultsAreKeras()
    {
        var adamW = new AdamW();
        Assert.That(adamW.LearningRate, Is.EqualTo(0.001f));
        Assert.That(adamW.WeightDecay, Is.EqualTo(0.004f));
        Assert.That(adamW.Beta1, Is.EqualTo(0.9f));
        Assert.That(adamW.Beta2, Is.EqualTo(0.999f));
        Assert.That(adamW.Epsilon, Is.EqualTo(1e-7f));
        Assert.That(adamW.AmsGrad, Is.False);
    }

    [Test]
    public void FirstThreeStepsMatchHandValues()
    {
        // θ ← θ − 0.25·0.5·θ, then the Adam step of AdamTests (β₁ = 0.75, β₂ = 0.875).
        // Element 0, step 1: 1 − 0.125 = 0.875, then 0.875 − 0.250000 = 0.625000141 (Adam's step is unchanged).
        HandSteps.Check(new AdamW(0.25f, weightDecay: 0.5f, beta1: 0.75f, beta2: 0.875f, epsilon: 1e-7f),
        [
            [0.625000141, -1.50000007, 2.37500004],
            [0.316340524, -1.26639313, 2.03201809],
            [0.284592303, -1.20942049, 1.7338373],
        ]);
    }

    [Test]
    public void AmsGradFirstThreeStepsMatchHandValues()
    {
        // Same, with v̂: only element 2 differs, at step 3 (its v falls from 0.5625 to 0.494140625).
        HandSteps.Check(new AdamW(0.25f, weightDecay: 0.5f, beta1: 0.75f, beta2: 0.875f, epsilon: 1e-7f, amsgrad: true),
        [
            [0.625000141, -1.50000007, 2.37500004],
            [0.316340524, -1.26639313, 2.03201809],
            [0.284592303, -1.20942049, 1.73660868],
        ]);
    }

    [Test]
    public void DecayIsNotRescaledByTheSecondMoment()
    {
        // With a zero gradient Adam's moments stay 0 and the step is 0/(0 + ε) = 0: only the decay acts.
        var p = HandSteps.Parameter(2f, -4f);
        new AdamW(0.1f, weightDecay: 0.5f).Step([p]);
        HandSteps.AssertClose(p.ToArray(), [1.9, -3.8], "weights");
    }
}
