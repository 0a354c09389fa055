using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

public class OptimizerStateTests
{
    private static (List<Tensor> Parameters, Action<int> SetGradients) TwoParameters()
    {
        var a = HandSteps.Named("a", 1f, -2f, 3f, 0.5f, 7f);
        var b = HandSteps.Named("b", 0.25f, -0.75f);
        void SetGradients(int step)
        {
            HandSteps.SetGradient(a, 0.5f + step, -1f, 2f - step, 0.125f, -0.25f * step);
            HandSteps.SetGradient(b, 1f - step, 0.5f);
        }
        return ([a, b], SetGradients);
    }

    /// <summary>Fresh tensors with the same names and values, as a resumed process would build them.</summary>
    private static List<Tensor> Rebuilt(IEnumerable<Tensor> parameters) =>
        parameters.Select(p => HandSteps.Named(p.Name!, p.ToArray())).ToList();

    private static List<OptimizerStateBuffer> Snapshot(Optimizer optimizer) =>
        optimizer.GetState().Select(s => new OptimizerStateBuffer(s.ParameterName, s.StateName, s.Values.ToArray())).ToList();

    private static void AssertBitwiseEqual(Tensor actual, Tensor expected, string what) =>
        Assert.That(actual.ToArray().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.ToArray().Select(BitConverter.SingleToInt32Bits)), what);

    [Test]
    public void StateIsExposedPerParameterName()
    {
        var (parameters, setGradients) = TwoParameters();
        var adam = new Adam(0.01f);
        Assert.That(adam.GetState(), Is.Empty);
        setGradients(0);
        adam.Step(parameters);
        var state = adam.GetState();
        Assert.That(state.Select(s => (s.ParameterName, s.StateName, s.Values.Length)),
            Is.EqualTo(new[] { ("a", "momentum", 5), ("a", "velocity", 5), ("b", "momentum", 2), ("b", "velocity", 2) }));
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
        var saved = Snapshot(first);
        Optimizer second = create();
        second.LoadState(first.Iterations, saved, resumed);
        for (int step = 2; step < 5; step++)
        {
            setResumed(step);
            second.Step(resumed);
        }

        Assert.That(second.Iterations, Is.EqualTo(5));
        for (int i = 0; i < 2; i++)
            AssertBitwiseEqual(resumed[i], straight[i], straight[i].Name!);
    }

    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void StateLoadedByNameIntoNewTensorsInAnotherOrderResumesIdentically(Func<Optimizer> create)
    {
        // As a new process would: new tensor objects (same names and weights), listed in another order.
        var (straight, setStraight) = TwoParameters();
        Optimizer reference = create();
        for (int step = 0; step < 5; step++)
        {
            setStraight(step);
            reference.Step(straight);
        }

        var (interrupted, setInterrupted) = TwoParameters();
        Optimizer first = create();
        for (int step = 0; step < 2; step++)
        {
            setInterrupted(step);
            first.Step(interrupted);
        }
        var saved = Snapshot(first);
        List<Tensor> resumed = Rebuilt(interrupted);   // [a, b], new objects
        resumed.Reverse();                             // [b, a]
        Optimizer second = create();
        second.LoadState(first.Iterations, saved, resumed);
        for (int step = 2; step < 5; step++)
        {
            // The same gradients as the straight run, written into the new tensors by name.
            setStraight(step);
            foreach (Tensor p in resumed)
                HandSteps.SetGradient(p, straight.Single(s => s.Name == p.Name).Grad!.ToArray());
            second.Step(resumed);
        }

        foreach (Tensor p in resumed)
            AssertBitwiseEqual(p, straight.Single(s => s.Name == p.Name), p.Name!);
    }

    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void ReorderingParametersBetweenStepsDoesNotMixStates(Func<Optimizer> create)
    {
        // Two parameters of the same length, so a position-keyed state would be swapped silently.
        Tensor a1 = HandSteps.Named("a", 1f, -2f, 3f), b1 = HandSteps.Named("b", 0.5f, 0.25f, -1f);
        Tensor a2 = HandSteps.Named("a", 1f, -2f, 3f), b2 = HandSteps.Named("b", 0.5f, 0.25f, -1f);
        Optimizer inOrder = create(), swapped = create();
        for (int step = 0; step < 4; step++)
        {
            float[] gradientA = [0.5f + step, -1f, 2f - step], gradientB = [-0.25f * step, 1.5f, 0.125f];
            HandSteps.SetGradient(a1, gradientA);
            HandSteps.SetGradient(b1, gradientB);
            HandSteps.SetGradient(a2, gradientA);
            HandSteps.SetGradient(b2, gradientB);
            inOrder.Step([a1, b1]);
            swapped.Step(step % 2 == 1 ? [b2, a2] : [a2, b2]);
        }
        AssertBitwiseEqual(a2, a1, "a");
        AssertBitwiseEqual(b2, b1, "b");
    }

    [Test]
    public void AdamWithSwappedParametersMatchesTheUnswappedRunBitForBit()
    {
        // The brief's case spelled out: Adam, two parameters of the same length, order swapped on step 2.
        Tensor a1 = HandSteps.Named("a", 1f, 2f), b1 = HandSteps.Named("b", -3f, 4f);
        Tensor a2 = HandSteps.Named("a", 1f, 2f), b2 = HandSteps.Named("b", -3f, 4f);
        Adam unswapped = new(0.1f), swapped = new(0.1f);
        float[][] gradientsA = [[1f, -1f], [0.5f, 2f], [-0.25f, 1f]], gradientsB = [[-4f, 0.125f], [3f, -0.5f], [1f, 1f]];
        for (int step = 0; step < 3; step++)
        {
            HandSteps.SetGradient(a1, gradientsA[step]);
            HandSteps.SetGradient(a2, gradientsA[step]);
            HandSteps.SetGradient(b1, gradientsB[step]);
            HandSteps.SetGradient(b2, gradientsB[step]);
            unswapped.Step([a1, b1]);
            swapped.Step(step == 1 ? [b2, a2] : [a2, b2]);
        }
        AssertBitwiseEqual(a2, a1, "a");
        AssertBitwiseEqual(b2, b1, "b");
        Assert.That(HandSteps.State(swapped, "velocity", "a"), Is.EqualTo(HandSteps.State(unswapped, "velocity", "a")));
    }

    [Test]
    public void AFrozenParameterKeepsItsStateAndANewOneStartsFresh()
    {
        var momentum = new Momentum(0.1f, 0.9f);
        Tensor a = HandSteps.Named("a", 1f, 2f), b = HandSteps.Named("b", 3f, 4f);
        HandSteps.SetGradient(a, 1f, 1f);
        HandSteps.SetGradient(b, 2f, 2f);
        momentum.Step([a, b]);
        float[] frozenVelocity = HandSteps.State(momentum, "momentum", "b");
        float[] frozenWeights = b.ToArray();

        // b frozen, and a new parameter c added in front of a: c gets zero velocity, a keeps its own.
        Tensor c = HandSteps.Named("c", 5f, 6f);
        HandSteps.SetGradient(c, 1f, 1f);
        momentum.Step([c, a]);

        Assert.That(b.ToArray(), Is.EqualTo(frozenWeights));
        Assert.That(HandSteps.State(momentum, "momentum", "b"), Is.EqualTo(frozenVelocity));
        Assert.That(HandSteps.State(momentum, "momentum", "c"), Is.EqualTo(new[] { 1f, 1f }));          // v = 0.9·0 + g
        Assert.That(HandSteps.State(momentum, "momentum", "a"), Is.EqualTo(new[] { 1.9f, 1.9f }).Within(1e-6f)); // v = 0.9·1 + g
        Assert.That(momentum.GetState().Select(s => s.ParameterName), Is.EqualTo(new[] { "a", "b", "c" }));   // first-stepped order
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
        optimizer.GradientReducer = new ScalingReducer(1f);
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
    public void ReplacingAParameterWithAnotherOfADifferentSizeGivesItItsOwnState()
    {
        var momentum = new Momentum();
        var p = HandSteps.Named("p", 1f, 2f);
        momentum.Step([p]);
        var q = HandSteps.Named("q", 1f, 2f, 3f);
        Assert.DoesNotThrow(() => momentum.Step([q]));
        Assert.That(momentum.GetState().Select(s => (s.ParameterName, s.Values.Length)), Is.EqualTo(new[] { ("p", 2), ("q", 3) }));
        momentum.ResetState();
        Assert.That(momentum.Iterations, Is.Zero);
        Assert.That(momentum.GetState(), Is.Empty);
    }

    [Test]
    public void GetStateNamesParametersThatShareAName()
    {
        var adam = new Adam();
        adam.Step([HandSteps.Named("dense/kernel", 1f, 2f), HandSteps.Named("dense/kernel", 3f), HandSteps.Named("dense/bias", 4f)]);
        var error = Assert.Throws<InvalidOperationException>(() => adam.GetState());
        Assert.That(error!.Message, Does.Contain("2 parameters are named \"dense/kernel\"").And.Contain("(2), (1)").And.Not.Contain("dense/bias"));
    }

    [Test]
    public void GetStateNamesParametersWithoutAName()
    {
        var adam = new Adam();
        adam.Step([HandSteps.Named("dense/kernel", 1f, 2f), HandSteps.Parameter(3f, 4f, 5f)]);
        var error = Assert.Throws<InvalidOperationException>(() => adam.GetState());
        Assert.That(error!.Message, Does.Contain("of shape (3) has no name").And.Not.Contain("dense/kernel"));
        Assert.That(new Sgd().GetState, Throws.Nothing, "a stateless optimizer keeps no parameters");
    }

    [Test]
    public void LoadStateNamesEveryMismatchAndChangesNothing()
    {
        var adam = new Adam();
        Tensor kernel = HandSteps.Named("dense/kernel", 1f, 2f, 3f), bias = HandSteps.Named("dense/bias", 0f);
        adam.Step([kernel, bias]);
        float[] velocityBefore = HandSteps.State(adam, "velocity", "dense/kernel");
        OptimizerStateBuffer[] buffers =
        [
            new("dense/kernel", "momentum", new float[3]),       // fine
            new("dense/kernel", "velocity", new float[2]),       // wrong length
            new("dense/bias", "velocity_hat", new float[1]),     // Adam without AMSGrad has no such state
            new("dense_1/kernel", "momentum", new float[4]),     // no such parameter
            new("dense/kernel", "momentum", new float[3]),       // given twice
        ];

        var error = Assert.Throws<ArgumentException>(() => adam.LoadState(7, buffers, [kernel, bias]));
        Assert.That(error!.Message, Does.Contain("\"velocity\" of \"dense/kernel\": expected 3 values (the parameter's length), got 2"));
        Assert.That(error.Message, Does.Contain("\"velocity_hat\" of \"dense/bias\": Adam has no state named \"velocity_hat\" (its states are [momentum, velocity])"));
        Assert.That(error.Message, Does.Contain("\"momentum\" of \"dense_1/kernel\": no parameter named \"dense_1/kernel\""));
        Assert.That(error.Message, Does.Contain("\"momentum\" of \"dense/kernel\" is given twice"));
        Assert.That(adam.Iterations, Is.EqualTo(1), "a failed load leaves the optimizer as it was");
        Assert.That(HandSteps.State(adam, "velocity", "dense/kernel"), Is.EqualTo(velocityBefore));
    }

    [Test]
    public void LoadStateNamesParametersThatShareAName()
    {
        var adam = new Adam();
        Tensor[] parameters = [HandSteps.Named("w", 1f), HandSteps.Named("w", 2f)];
        var error = Assert.Throws<ArgumentException>(() => adam.LoadState(1, [new OptimizerStateBuffer("w", "momentum", new float[1])], parameters));
        Assert.That(error!.Message, Does.Contain("parameters 0 and 1 are both named \"w\""));
    }

    [Test]
    public void LoadStateStartsMissingBuffersAsOnAFirstStep()
    {
        var adagrad = new Adagrad(initialAccumulatorValue: 0.5f);
        Tensor a = HandSteps.Named("a", 1f, 2f), b = HandSteps.Named("b", 3f);
        adagrad.LoadState(4, [new OptimizerStateBuffer("a", "accumulator", new[] { 7f, 8f })], [a, b]);
        Assert.That(adagrad.Iterations, Is.EqualTo(4));
        Assert.That(HandSteps.State(adagrad, "accumulator", "a"), Is.EqualTo(new[] { 7f, 8f }));
        Assert.That(adagrad.GetState().Select(s => s.ParameterName), Is.EqualTo(new[] { "a" }), "b has no state until its first step");
        adagrad.Step([a, b]);   // zero gradients: b's accumulator starts at a₀
        Assert.That(HandSteps.State(adagrad, "accumulator", "b"), Is.EqualTo(new[] { 0.5f }));
    }

    [Test]
    public void AdagradAccumulatorStartsAtInitialValue()
    {
        var adagrad = new Adagrad(initialAccumulatorValue: 0.5f);
        var p = HandSteps.Named(HandSteps.CheckedName, 1f, 2f);   // zero gradient: accumulator stays at a₀
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
