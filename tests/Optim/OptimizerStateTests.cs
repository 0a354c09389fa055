using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class OptimizerStateTests
{
    private static (List<Tensor> Parameters, Action<int> SetGradients) TwoParameters()
    {
        var a = HandSteps.Parameter(1f, -2f, 3f, 0.5f, 7f);
        var b = HandSteps.Parameter(0.25f, -0.75f);
        void SetGradients(int step)
        {
            HandSteps.SetGradient(a, 0.5f + step, -1f, 2f - step, 0.125f, -0.25f * step);
            HandSteps.SetGradient(b, 1f - step, 0.5f);
        }
        return ([a, b], SetGradients);
    }

    [Test]
    public void StateIsExposedPerSlotWithNames()
    {
        var (parameters, setGradients) = TwoParameters();
        var adam = new Adam(0.01f);
        Assert.That(adam.GetState(), Is.Empty);
        setGradients(0);
        adam.Step(parameters);
        var state = adam.GetState();
        Assert.That(state.Select(s => (s.Slot, s.Name, s.Values.Length)),
            Is.EqualTo(new[] { (0, "momentum", 5), (0, "velocity", 5), (1, "momentum", 2), (1, "velocity", 2) }));
        // m after one step is (1 − β₁)·g.
        Assert.That(state[2].Values.Span[0], Is.EqualTo(0.1f).Within(1e-7f));
    }

    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void SavedStateResumesIdentically(Func<Optimizer> create)
    {
        // Run 5 steps straight; separately run 2, save weights + state, load into a fresh optimizer, run 3.
        var (straight, setStraight) = TwoParameters();
        Optimizer reference = create();
        for (int step = 0; step < 5; step++)
        {
            setStraight(step);
            reference.Step(straight);
        }

        var (resumed, setResumed) = TwoParameters();
        Optimizer first = create();
        for (int step = 0; step < 2; step++)
        {
            setResumed(step);
            first.Step(resumed);
        }
        var saved = first.GetState().Select(s => new OptimizerStateBuffer(s.Slot, s.Name, s.Values.ToArray())).ToList();
        Optimizer second = create();
        second.LoadState(first.Iterations, saved);
        for (int step = 2; step < 5; step++)
        {
            setResumed(step);
            second.Step(resumed);
        }

        Assert.That(second.Iterations, Is.EqualTo(5));
        for (int slot = 0; slot < 2; slot++)
            Assert.That(resumed[slot].ToArray(), Is.EqualTo(straight[slot].ToArray()), $"slot {slot}");
    }

    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void StepsAfterTheFirstDoNotAllocate(Func<Optimizer> create)
    {
        var (parameters, setGradients) = TwoParameters();
        Optimizer optimizer = create();
        optimizer.L1 = 0.01f;
        optimizer.L2 = 0.01f;
        optimizer.ClipValue = 1f;
        optimizer.GlobalClipNorm = 2f;
        optimizer.Schedule = new CosineDecay(0f, 100, warmupTarget: optimizer.LearningRate, warmupSteps: 3);
        setGradients(1);
        for (int i = 0; i < 3; i++)
            optimizer.Step(parameters);   // first step allocates the state; a few more warm up the JIT

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            optimizer.Step(parameters);
            Optimizer.ZeroGradients(parameters);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void ChangingParameterShapeIsReported()
    {
        var momentum = new Momentum();
        var p = HandSteps.Parameter(1f, 2f);
        momentum.Step([p]);
        var q = HandSteps.Parameter(1f, 2f, 3f);
        Assert.Throws<InvalidOperationException>(() => momentum.Step([q]));
        momentum.ResetState();
        Assert.That(momentum.Iterations, Is.Zero);
        Assert.DoesNotThrow(() => momentum.Step([q]));
    }

    [Test]
    public void LoadStateRejectsUnknownNames()
    {
        var adam = new Adam();
        Assert.Throws<ArgumentException>(() => adam.LoadState(1, [new OptimizerStateBuffer(0, "velocity_hat", new float[2])]));
    }

    [Test]
    public void AdagradAccumulatorStartsAtInitialValue()
    {
        var adagrad = new Adagrad(initialAccumulatorValue: 0.5f);
        var p = HandSteps.Parameter(1f, 2f);   // zero gradient: accumulator stays at a₀
        adagrad.Step([p]);
        Assert.That(HandSteps.State(adagrad, "accumulator"), Is.EqualTo(new[] { 0.5f, 0.5f }));
    }

    [Test]
    public void ZeroGradientsClearsEveryGradient()
    {
        var (parameters, setGradients) = TwoParameters();
        setGradients(1);
        Optimizer.ZeroGradients(parameters);
        Assert.That(parameters.SelectMany(p => p.Grad!.ToArray()), Is.All.EqualTo(0f));
    }
}
