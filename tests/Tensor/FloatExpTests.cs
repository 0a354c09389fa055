using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="FloatExp"/>, the single-precision vector e^x of the fused LSTM step: within 2 ulp of the correctly
/// rounded e^x over its range, exact at 0, saturating (finite, never negative) beyond it, NaN kept.
/// </summary>
public class FloatExpTests
{
    [Test]
    public void IsWithinTwoUlpOfTheCorrectlyRoundedExpOverItsRange()
    {
        const int count = 200_000;
        var inputs = new float[count];
        for (int i = 0; i < count; i++)
            inputs[i] = -87f + 175f * i / (count - 1);       // the clamped range, evenly
        var random = new Random(5);
        for (int i = 0; i < 16_000; i++)
            inputs[i] = (float)(random.NextDouble() * 8 - 4); // and densely where the LSTM's gates live
        (int worst, float worstAt) = WorstUlps.Of(inputs, FloatExp.Exp, x => (float)Math.Exp(x));
        Assert.That(worst, Is.LessThanOrEqualTo(2), $"worst at x = {worstAt}");
    }

    [Test]
    public void IsExactAtZeroAndSaturatesBeyondTheRange()
    {
        Vector512<float> x = Vector512.Create([0f, -0f, 1f, -1f, 88f, 89f, 1000f, float.PositiveInfinity,
            -87.3f, -90f, -1000f, float.NegativeInfinity, float.NaN, 20f, -20f, 0.5f]);
        Vector512<float> e = FloatExp.Exp(x);
        Assert.That(e[0], Is.EqualTo(1f));
        Assert.That(e[1], Is.EqualTo(1f));
        Assert.That(e[2], Is.EqualTo(MathF.E).Within(1).Ulps);
        for (int lane = 5; lane <= 7; lane++) // beyond 88: e^88 ≈ 1.65e38, finite
            Assert.That(e[lane], Is.EqualTo(e[4]), $"lane {lane}");
        Assert.That(float.IsFinite(e[4]) && e[4] > 1.6e38f, Is.True, $"{e[4]}");
        for (int lane = 9; lane <= 11; lane++) // below −87.34: the smallest normal float, not 0 and not negative
            Assert.That(e[lane], Is.EqualTo(MathF.Exp(-87.33654f)).Within(2).Ulps, $"lane {lane}");
        Assert.That(float.IsNaN(e[12]), Is.True);
        // σ and tanh built on it reach their limits within a float's rounding.
        Assert.That(1f / (1f + e[6]), Is.LessThan(1e-38f));
        Assert.That(1f - 2f / (e[6] + 1f), Is.EqualTo(1f));
    }
}
