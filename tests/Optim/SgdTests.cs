using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class SgdTests
{
    [Test]
    public void DefaultsAreKeras()
    {
        var sgd = new Sgd();
        Assert.That(sgd.LearningRate, Is.EqualTo(0.01f));
        Assert.That(sgd.StateNames, Is.Empty);
    }

    [Test]
    public void FirstThreeStepsMatchHandValues()
    {
        // θ ← θ − 0.25·g, e.g. element 0: 1 − 0.25·0.5 = 0.875.
        HandSteps.Check(new Sgd(0.25f),
        [
            [0.875, -1.75, 2.5],
            [0.8125, -1.875, 2.75],
            [0.9375, -2.125, 2.71875],
        ]);
    }

    [Test]
    public void ParametersWithoutGradientAreSkipped()
    {
        var withGradient = HandSteps.Parameter(1f);
        HandSteps.SetGradient(withGradient, 2f);
        var without = Tensor.FromArray([5f], 1).AsParameter();
        new Sgd(0.5f).Step([without, withGradient]);
        Assert.That(without[0], Is.EqualTo(5f));
        Assert.That(withGradient[0], Is.EqualTo(0f));
    }

    [Test]
    public void RejectsNonPositiveLearningRate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Sgd(0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd().LearningRate = float.NaN);
    }
}
