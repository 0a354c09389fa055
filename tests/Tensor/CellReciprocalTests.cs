using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="LstmFusedStep.Reciprocal"/>, the fused LSTM cell's 1/x (a 14-bit estimate and one Newton step), against the
/// correctly rounded quotient over the values the cell divides by: 1 + e^… from 1 up to e^88 + 1.
/// </summary>
public class CellReciprocalTests
{
    [Test]
    public void IsWithinTwoUlpOfTheQuotientFromOneToTheLargestExp()
    {
        if (!Vector512.IsHardwareAccelerated)
            Assert.Ignore("the fused cell runs on AVX-512 only");
        var random = new Random(3);
        var inputs = new float[160_000];
        for (int i = 0; i < inputs.Length; i++) // log-uniform over [1, 1.6e38], and densely in [1, 100] where the gates live
            inputs[i] = i % 2 == 0 ? MathF.Exp((float)random.NextDouble() * 88f) : 1f + 99f * (float)random.NextDouble();
        (int worst, float worstAt) = WorstUlps.Of(inputs, LstmFusedStep.Reciprocal, x => 1f / x);
        Assert.That(worst, Is.LessThanOrEqualTo(2), $"worst at x = {worstAt}");
    }

    [Test]
    public void OneAndPowersOfTwoAreExactAndTheLargestExpGivesAFiniteTinyGate()
    {
        if (!Vector512.IsHardwareAccelerated)
            Assert.Ignore("the fused cell runs on AVX-512 only");
        Vector512<float> r = LstmFusedStep.Reciprocal(Vector512.Create([1f, 2f, 4f, 1024f, MathF.Exp(88f) + 1f, 3f, 1.5f, 7f,
            10f, 1e10f, 1e20f, 1e30f, 1e37f, 1e38f, 5f, 1.25f]));
        Assert.That(r[0], Is.EqualTo(1f));
        Assert.That(r[1], Is.EqualTo(0.5f));
        Assert.That(r[2], Is.EqualTo(0.25f));
        Assert.That(r[3], Is.EqualTo(1f / 1024f));
        Assert.That(r[4] >= 0f && r[4] < 1e-38f, Is.True, $"σ at the saturated end: {r[4]}"); // not NaN, not negative
    }
}
