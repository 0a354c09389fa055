using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class AdamTests
{
    [Test]
    public void DefaultsAreKeras()
    {
        var adam = new Adam();
        Assert.That(adam.LearningRate, Is.EqualTo(0.001f));
        Assert.That(adam.Beta1, Is.EqualTo(0.9f));
        Assert.That(adam.Beta2, Is.EqualTo(0.999f));
        Assert.That(adam.Epsilon, Is.EqualTo(1e-7f));
        Assert.That(adam.AmsGrad, Is.False);
        Assert.That(adam.StateNames, Is.EqualTo(new[] { "momentum", "velocity" }));
        Assert.That(new Adam(amsgrad: true).StateNames, Is.EqualTo(new[] { "momentum", "velocity", "velocity_hat" }));
    }

    [Test]
    public void FirstThreeStepsMatchHandValues()
    {
        // m ← 0.75·m + 0.25·g, v ← 0.875·v + 0.125·g², α_t = 0.25·√(1 − 0.875ᵗ)/(1 − 0.75ᵗ),
        // θ ← θ − α_t·m/(√v + 1e-7).
        // Element 0, step 1: m = 0.125, v = 0.03125, α₁ = 0.25·√0.125/0.25 = 0.353553391,
        // θ = 1 − 0.353553391·0.125/(0.176776695 + 1e-7) = 0.750000141.
        var adam = new Adam(0.25f, beta1: 0.75f, beta2: 0.875f, epsilon: 1e-7f);
        HandSteps.Check(adam,
        [
            [0.750000141, -1.75000007, 2.75000004],
            [0.519465541, -1.70389314, 2.7038931],
            [0.527259886, -1.80521964, 2.65971456],
        ]);
        HandSteps.AssertClose(HandSteps.State(adam, "momentum"), [-0.0078125, 0.203125, 0.125], "m");
        HandSteps.AssertClose(HandSteps.State(adam, "velocity"), [0.0620117188, 0.248046875, 0.494140625], "v");
    }

    [Test]
    public void KerasDefaultsFirstThreeStepsMatchHandValues()
    {
        // η = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-7: the first step moves each weight by ≈ η·sign(g).
        HandSteps.Check(new Adam(),
        [
            [0.999000006, -1.999, 2.999],
            [0.998067832, -1.99873367, 2.99873366],
            [0.997957049, -1.99900636, 2.99849242],
        ]);
    }

    [Test]
    public void AmsGradFirstThreeStepsMatchHandValues()
    {
        // As above with β₂ = 0.5 and v̂ ← max(v̂, v) in the denominator. At step 2 v falls for every
        // element (e.g. element 2: 2 → 1.5) and v̂ keeps the maximum.
        var adam = new Adam(0.25f, beta1: 0.75f, beta2: 0.5f, epsilon: 1e-7f, amsgrad: true);
        HandSteps.Check(adam,
        [
            [0.750000071, -1.75000004, 2.75000002],
            [0.531295691, -1.70625915, 2.70625913],
            [0.538918339, -1.80535359, 2.67050574],
        ]);
        HandSteps.AssertClose(HandSteps.State(adam, "velocity"), [0.171875, 0.6875, 0.7578125], "v");
        HandSteps.AssertClose(HandSteps.State(adam, "velocity_hat"), [0.171875, 0.6875, 2], "v̂");
    }
}
