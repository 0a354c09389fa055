using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="FloatExp"/>, the single-precision vector e^x of the fused LSTM step: within 2 ulp of the correctly
/// rounded e^x over its range, exact at 0, saturating (finite, never negative) beyond it, NaN kept; the 8-lane version
/// (AVX2 + FMA) likewise, and lane for lane the same bits as the 16-lane one.
/// </summary>
public class FloatExpTests
{
    [Test]
    public void IsWithinTwoUlpOfTheCorrectlyRoundedExpOverItsRange()
    {
        Assume.That(Avx512F.IsSupported, "the 16-lane FloatExp needs AVX-512");
        (int worst, float worstAt) = WorstUlps.Of(Inputs(), FloatExp.Exp, x => (float)Math.Exp(x));
        Assert.That(worst, Is.LessThanOrEqualTo(2), $"worst at x = {worstAt}");
    }

    [Test]
    public void TheEightLaneVersionIsWithinTwoUlpOfTheCorrectlyRoundedExpOverItsRange()
    {
        Assume.That(FloatExp.IsAccelerated256, "the 8-lane FloatExp needs AVX2 and FMA");
        (int worst, float worstAt) = WorstUlps.OfEightLanes(Inputs(), FloatExp.Exp, x => (float)Math.Exp(x));
        Assert.That(worst, Is.LessThanOrEqualTo(2), $"worst at x = {worstAt}");
    }

    [Test]
    public void TheEightLaneVersionGivesTheSixteenLaneBits()
    {
        Assume.That(Avx512F.IsSupported && FloatExp.IsAccelerated256, "needs AVX-512 to compare with");
        float[] inputs = [.. Inputs(), 0f, -0f, 88f, 89f, 1000f, float.PositiveInfinity, -87.3f, -90f, -1000f, float.NegativeInfinity,
            float.NaN, 1e-30f, -1e-30f, 87.9f, -87.33654f, -87.33f];
        for (int i = 0; i < inputs.Length; i += 16)
        {
            Vector512<float> x = Vector512.Create(inputs, i), wide = FloatExp.Exp(x);
            Vector512<float> narrow = Vector512.Create(FloatExp.Exp(x.GetLower()), FloatExp.Exp(x.GetUpper()));
            for (int lane = 0; lane < 16; lane++)
                Assert.That(BitConverter.SingleToInt32Bits(narrow[lane]), Is.EqualTo(BitConverter.SingleToInt32Bits(wide[lane])),
                    $"e^{x[lane]:R}");
        }
    }

    /// <summary>The clamped range evenly, and densely where the LSTM's gates live (a multiple of 16).</summary>
    private static float[] Inputs()
    {
        const int count = 200_000;
        var inputs = new float[count];
        for (int i = 0; i < count; i++)
            inputs[i] = -87f + 175f * i / (count - 1);       // the clamped range, evenly
        var random = new Random(5);
        for (int i = 0; i < 16_000; i++)
            inputs[i] = (float)(random.NextDouble() * 8 - 4); // and densely where the LSTM's gates live
        return inputs;
    }

    [Test]
    public void IsExactAtZeroAndSaturatesBeyondTheRange()
    {
        Assume.That(Avx512F.IsSupported, "the 16-lane FloatExp needs AVX-512");
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

    [Test]
    public void TheEightLaneVersionIsExactAtZeroAndSaturatesBeyondTheRange()
    {
        Assume.That(FloatExp.IsAccelerated256, "the 8-lane FloatExp needs AVX2 and FMA");
        Vector256<float> e = FloatExp.Exp(Vector256.Create([0f, -0f, 88f, 1000f, float.PositiveInfinity, -1000f, float.NegativeInfinity, float.NaN]));
        Assert.That(e[0], Is.EqualTo(1f));
        Assert.That(e[1], Is.EqualTo(1f));
        Assert.That(float.IsFinite(e[2]) && e[2] > 1.6e38f, Is.True, $"{e[2]}");
        Assert.That(e[3], Is.EqualTo(e[2]));
        Assert.That(e[4], Is.EqualTo(e[2]));
        Assert.That(e[5], Is.EqualTo(MathF.Exp(-87.33654f)).Within(2).Ulps);
        Assert.That(e[6], Is.EqualTo(e[5]));
        Assert.That(float.IsNaN(e[7]), Is.True);
    }
}
