using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// Optimizer states decaying with no gradient (an unused embedding row under a dense update) reach ±0 instead of the
/// subnormal floats, which Intel cores compute 100x slower: every state is stored with magnitudes below 2^−100 zeroed
/// (<see cref="NanoNet.Kernels.TinyFloats"/>), and the weights move exactly as before.
/// </summary>
public class StateFloorTests
{
    private const float Floor = NanoNet.Kernels.TinyFloats.Floor; // 2^−100

    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void DecayingStatesReachZeroWithoutPassingThroughTheSubnormals(Func<Optimizer> create)
    {
        Optimizer optimizer = create();
        Tensor weights = HandSteps.Named("row", [0.5f, -0.25f, 0.125f, 1f, -1f, 0.3f, 0.7f, -0.9f, 0.1f, 0.2f, 0.4f, -0.6f, 0.8f, -0.05f, 0.05f, 0.6f, 0.9f]);
        HandSteps.SetGradient(weights, [.. Enumerable.Range(0, 17).Select(i => 0.01f * (i - 8))]);
        optimizer.Step([weights]); // one real gradient, then none for 2,000 steps: β, ρ and μ shrink the states each step
        float[] before = weights.ToArray();
        for (int step = 0; step < 2000; step++)
        {
            HandSteps.SetGradient(weights, new float[17]);
            optimizer.Step([weights]);
            foreach (OptimizerStateBuffer buffer in optimizer.GetState())
                foreach (float value in buffer.Values.Span.ToArray())
                    Assert.That(value == 0f || MathF.Abs(value) >= Floor, Is.True, $"step {step}: {buffer.StateName} holds {value:E3}");
        }
        Assert.That(weights.ToArray().All(float.IsFinite), Is.True, $"{string.Join(", ", before)}");
    }

    [Test]
    public void AStateJustAboveTheFloorIsKept()
    {
        // RMSprop with ρ = 0.5: v = 0.5·v + 0.5·g²; from g² = 2^−98 (v = 2^−99, all exact) the velocity halves each step
        // with no gradient: 2^−100 (kept: not below the floor), then 2^−101 → 0.
        var optimizer = new RmsProp(0.001f, rho: 0.5f);
        Tensor weights = HandSteps.Named("w", [1f]);
        HandSteps.SetGradient(weights, [MathF.Pow(2f, -49f)]);
        optimizer.Step([weights]);
        float Velocity() => optimizer.GetState().Single(b => b.StateName == "velocity").Values.Span[0];
        Assert.That(Velocity(), Is.EqualTo(MathF.Pow(2f, -99f)));
        Assert.That(MathF.Pow(2f, -100f), Is.EqualTo(Floor), "the floor is 2^−100 exactly");
        float[] expected = [MathF.Pow(2f, -100f), 0f, 0f];
        foreach (float value in expected)
        {
            HandSteps.SetGradient(weights, [0f]);
            optimizer.Step([weights]);
            Assert.That(Velocity(), Is.EqualTo(value));
        }
    }
}
