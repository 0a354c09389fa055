using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class ScheduleTests
{
    private const double Tolerance = 1e-6;

    private static void AssertRate(ILearningRateSchedule schedule, long step, double expected) =>
        Assert.That(schedule.LearningRate(step), Is.EqualTo(expected).Within(Math.Max(Math.Abs(expected) * Tolerance, 1e-12)), $"step {step}");

    [Test]
    public void Constant()
    {
        var schedule = new ConstantLearningRate(0.1f);
        AssertRate(schedule, 0, 0.1);
        AssertRate(schedule, 123456, 0.1);
    }

    [Test]
    public void StepDecayDropsEveryStepSizeSteps()
    {
        var schedule = new StepDecay(1f, stepSize: 10, gamma: 0.5f);
        AssertRate(schedule, 0, 1);
        AssertRate(schedule, 9, 1);
        AssertRate(schedule, 10, 0.5);
        AssertRate(schedule, 25, 0.25);
    }

    [Test]
    public void ExponentialDecay()
    {
        var smooth = new ExponentialDecay(0.1f, decaySteps: 100, decayRate: 0.5f);
        AssertRate(smooth, 0, 0.1);
        AssertRate(smooth, 50, 0.0707106781);   // 0.1·0.5^0.5
        AssertRate(smooth, 100, 0.05);
        AssertRate(smooth, 150, 0.0353553391);  // 0.1·0.5^1.5
        var staircase = new ExponentialDecay(0.1f, decaySteps: 100, decayRate: 0.5f, staircase: true);
        AssertRate(staircase, 150, 0.05);
    }

    [Test]
    public void InverseTimeDecayIsLegacyKerasDecay()
    {
        // lr / (1 + decay·step) with decay = 0.5.
        var schedule = new InverseTimeDecay(0.1f, decayRate: 0.5f);
        AssertRate(schedule, 0, 0.1);
        AssertRate(schedule, 1, 0.0666666667);
        AssertRate(schedule, 4, 0.0333333333);
        AssertRate(new InverseTimeDecay(0.1f, 0.5f, decaySteps: 10), 15, 0.0571428571);              // 0.1/(1 + 0.5·1.5)
        AssertRate(new InverseTimeDecay(0.1f, 0.5f, decaySteps: 10, staircase: true), 15, 0.0666666667); // 0.1/(1 + 0.5·1)
    }

    [Test]
    public void CosineDecayWithoutWarmup()
    {
        var schedule = new CosineDecay(1f, decaySteps: 100);
        AssertRate(schedule, 0, 1);
        AssertRate(schedule, 25, 0.853553391);  // ½(1 + cos(π/4))
        AssertRate(schedule, 50, 0.5);
        AssertRate(schedule, 100, 0);
        AssertRate(schedule, 200, 0);
        var withFloor = new CosineDecay(1f, decaySteps: 100, alpha: 0.1f);
        AssertRate(withFloor, 50, 0.55);        // 0.9·0.5 + 0.1
        AssertRate(withFloor, 75, 0.231801948); // 0.9·½(1 + cos(3π/4)) + 0.1
        AssertRate(withFloor, 1000, 0.1);
    }

    [Test]
    public void CosineDecayWithLinearWarmup()
    {
        var schedule = new CosineDecay(0f, decaySteps: 100, warmupTarget: 1f, warmupSteps: 10);
        AssertRate(schedule, 0, 0);
        AssertRate(schedule, 5, 0.5);
        AssertRate(schedule, 10, 1);
        AssertRate(schedule, 35, 0.853553391);  // 25 steps into the decay
        AssertRate(schedule, 60, 0.5);
        AssertRate(schedule, 110, 0);
        AssertRate(schedule, 500, 0);
        AssertRate(new CosineDecay(0.1f, 100, warmupTarget: 1f, warmupSteps: 10), 3, 0.37); // 0.1 + 0.9·0.3
    }

    [Test]
    public void OptimizerUsesTheScheduleFromIterations()
    {
        // Rates 1, 0.5, 0.25 for steps 0, 1, 2; gradient 1 each step: θ = 1 − 1 − 0.5 − 0.25.
        var p = HandSteps.Parameter(1f);
        var sgd = new Sgd(0.01f) { Schedule = new StepDecay(1f, stepSize: 1, gamma: 0.5f) };
        var expected = new[] { 0f, -0.5f, -0.75f };
        for (int step = 0; step < 3; step++)
        {
            Assert.That(sgd.CurrentLearningRate, Is.EqualTo(MathF.Pow(0.5f, step)));
            HandSteps.SetGradient(p, 1f);
            sgd.Step([p]);
            Assert.That(p[0], Is.EqualTo(expected[step]));
        }
        sgd.Schedule = null;
        Assert.That(sgd.CurrentLearningRate, Is.EqualTo(0.01f));
    }

    [Test]
    public void AdamWDecayUsesTheScheduledRate()
    {
        // Zero gradient: only the decay acts, θ ← θ − η(step)·λ·θ with η(0) = 0 (warm-up start), then 0.1.
        var p = HandSteps.Parameter(2f);
        var adamW = new AdamW(0.5f, weightDecay: 0.5f) { Schedule = new CosineDecay(0f, 100, warmupTarget: 0.2f, warmupSteps: 2) };
        adamW.Step([p]);
        Assert.That(p[0], Is.EqualTo(2f));
        adamW.Step([p]);
        Assert.That(p[0], Is.EqualTo(1.9f).Within(1e-6f));
    }

    [Test]
    public void ArgumentsAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new StepDecay(0.1f, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ExponentialDecay(-0.1f, 10, 0.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new InverseTimeDecay(0.1f, float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new CosineDecay(0.1f, 100, alpha: 2f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantLearningRate(0.1f).LearningRate(-1));
    }
}
