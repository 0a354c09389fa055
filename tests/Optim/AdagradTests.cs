using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class AdagradTests
{
    [Test]
    public void DefaultsAreKeras()
    {
        var adagrad = new Adagrad();
        Assert.That(adagrad.LearningRate, Is.EqualTo(0.001f));
        Assert.That(adagrad.InitialAccumulatorValue, Is.EqualTo(0.1f));
        Assert.That(adagrad.Epsilon, Is.EqualTo(1e-7f));
        Assert.That(adagrad.StateNames, Is.EqualTo(new[] { "accumulator" }));
    }

    [Test]
    public void FirstThreeStepsMatchHandValues()
    {
        // a ← a + g², θ ← θ − 0.25·g/√(a + 1e-7), a₀ = 0.25.
        // Element 0, step 1: a = 0.5, θ = 1 − 0.125/√0.5000001 = 0.823223322.
        var adagrad = new Adagrad(0.25f, initialAccumulatorValue: 0.25f, epsilon: 1e-7f);
        HandSteps.Check(adagrad,
        [
            [0.823223322, -1.77639321, 2.75746438],
            [0.739889996, -1.87845528, 2.86657332],
            [0.878565037, -2.03656916, 2.85295495],
        ]);
        HandSteps.AssertClose(HandSteps.State(adagrad, "accumulator"), [0.8125, 2.5, 5.265625], "accumulator");
    }
}
