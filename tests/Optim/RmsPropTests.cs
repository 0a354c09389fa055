using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class RmsPropTests
{
    [Test]
    public void DefaultsAreKeras()
    {
        var rms = new RmsProp();
        Assert.That(rms.LearningRate, Is.EqualTo(0.001f));
        Assert.That(rms.Rho, Is.EqualTo(0.9f));
        Assert.That(rms.Momentum, Is.EqualTo(0f));
        Assert.That(rms.Epsilon, Is.EqualTo(1e-7f));
        Assert.That(rms.Centered, Is.False);
        Assert.That(rms.StateNames, Is.EqualTo(new[] { "velocity" }));
        Assert.That(new RmsProp(momentum: 0.5f, centered: true).StateNames,
            Is.EqualTo(new[] { "velocity", "momentum", "average_gradient" }));
    }

    [Test]
    public void FirstThreeStepsMatchHandValues()
    {
        // s ← 0.75·s + 0.25·g², θ ← θ − 0.25·g/√(s + 1e-7).
        // Element 0, step 1: s = 0.0625, θ = 1 − 0.125/√0.0625001 = 0.5000004.
        var rms = new RmsProp(0.25f, rho: 0.75f, epsilon: 1e-7f);
        HandSteps.Check(rms,
        [
            [0.5000004, -1.5000001, 2.50000002],
            [0.2500006, -1.75000005, 2.75000001],
            [0.6279649, -2.12796448, 2.71400923],
        ]);
        HandSteps.AssertClose(HandSteps.State(rms, "velocity"), [0.109375, 0.4375, 0.75390625], "velocity");
    }

    [Test]
    public void CenteredWithMomentumFirstThreeStepsMatchHandValues()
    {
        // s ← 0.75·s + 0.25·g², ḡ ← 0.75·ḡ + 0.25·g, m ← 0.5·m + 0.25·g/√(s − ḡ² + 1e-7), θ ← θ − m.
        // Element 0, step 1: s = 0.0625, ḡ = 0.125, m = 0.125/√0.0468751 = 0.577349653.
        var rms = new RmsProp(0.25f, rho: 0.75f, momentum: 0.5f, epsilon: 1e-7f, centered: true);
        HandSteps.Check(rms,
        [
            [0.422650347, -1.42264988, 2.42264977],
            [-0.186280367, -1.38595109, 2.38595096],
            [-0.112675921, -1.76475727, 2.3312319],
        ]);
        HandSteps.AssertClose(HandSteps.State(rms, "velocity"), [0.109375, 0.4375, 0.75390625], "velocity");
        HandSteps.AssertClose(HandSteps.State(rms, "average_gradient"), [-0.0078125, 0.203125, 0.125], "average gradient");
        HandSteps.AssertClose(HandSteps.State(rms, "momentum"), [-0.0736044462, 0.378806183, 0.0547190523], "momentum");
    }

    [Test]
    public void EpsilonOutsideTheSquareRootFirstThreeStepsMatchHandValues()
    {
        // Keras 2 / PyTorch form: s ← 0.75·s + 0.25·g², θ ← θ − 0.25·g/(√s + 0.25); a large ε makes the form visible.
        // Element 0, step 1: s = 0.0625, θ = 1 − 0.125/(0.25 + 0.25) = 0.75 (with ε under the root: 1 − 0.125/√0.3125 = 0.7764).
        var rms = new RmsProp(0.25f, rho: 0.75f, epsilon: 0.25f) { EpsilonOutsideSquareRoot = true };
        HandSteps.Check(rms,
        [
            [0.75, -1.66666667, 2.6],
            [0.625, -1.83333333, 2.8],
            [0.840250437, -2.10762522, 2.77205524],
        ]);
    }
}
