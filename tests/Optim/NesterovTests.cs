using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class NesterovTests
{
    [Test]
    public void Defaults()
    {
        var nesterov = new Nesterov();
        Assert.That(nesterov.LearningRate, Is.EqualTo(0.01f));
        Assert.That(nesterov.Beta, Is.EqualTo(0.9f));
        Assert.That(nesterov.StateNames, Is.EqualTo(new[] { "momentum" }));
    }

    [Test]
    public void FirstThreeStepsMatchHandValues()
    {
        // v ← 0.75·v + g, θ ← θ − 0.25·(g + 0.75·v).
        // Element 0, step 1: v = 0.5, θ = 1 − 0.25·(0.5 + 0.375) = 0.78125.
        var nesterov = new Nesterov(0.25f, 0.75f);
        HandSteps.Check(nesterov,
        [
            [0.78125, -1.5625, 2.125],
            [0.6015625, -1.640625, 2.28125],
            [0.732421875, -2.04296875, 2.15625],
        ]);
        HandSteps.AssertClose(HandSteps.State(nesterov, "momentum"), [-0.03125, 0.8125, 0.5], "velocity");
    }
}
