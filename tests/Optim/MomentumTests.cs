using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class MomentumTests
{
    [Test]
    public void Defaults()
    {
        var momentum = new Momentum();
        Assert.That(momentum.LearningRate, Is.EqualTo(0.01f));
        Assert.That(momentum.Beta, Is.EqualTo(0.9f));
        Assert.That(momentum.Form, Is.EqualTo(MomentumForm.Classical));
        Assert.That(momentum.StateNames, Is.EqualTo(new[] { "momentum" }));
    }

    [Test]
    public void ClassicalFirstThreeStepsMatchHandValues()
    {
        // v ← 0.75·v + g, θ ← θ − 0.25·v. Element 0: v = 0.5, 0.625, −0.03125; θ = 0.875, 0.71875, 0.7265625.
        var momentum = new Momentum(0.25f, 0.75f, MomentumForm.Classical);
        HandSteps.Check(momentum,
        [
            [0.875, -1.75, 2.5],
            [0.71875, -1.6875, 2.375],
            [0.7265625, -1.890625, 2.25],
        ]);
        HandSteps.AssertClose(HandSteps.State(momentum, "momentum"), [-0.03125, 0.8125, 0.5], "velocity");
    }

    [Test]
    public void ExponentialAverageFirstThreeStepsMatchHandValues()
    {
        // v ← 0.75·v + 0.25·g, θ ← θ − 0.25·v. Element 0: v = 0.125, 0.15625, −0.0078125.
        var momentum = new Momentum(0.25f, 0.75f, MomentumForm.ExponentialAverage);
        HandSteps.Check(momentum,
        [
            [0.96875, -1.9375, 2.875],
            [0.9296875, -1.921875, 2.84375],
            [0.931640625, -1.97265625, 2.8125],
        ]);
        HandSteps.AssertClose(HandSteps.State(momentum, "momentum"), [-0.0078125, 0.203125, 0.125], "velocity");
    }

    [Test]
    public void RejectsBetaOutsideUnitInterval()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Momentum(beta: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Momentum(beta: -0.1f));
    }
}
