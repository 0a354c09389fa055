using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="FloatExp"/>, the e^x under the recurrent cells' σ and tanh: within a few ulp of the exact value over
/// the range it does not clamp, the same bits at every vector width and on a scalar, saturating at the clamp, and NaN
/// in, NaN out.
/// </summary>
public class FloatExpTests
{
    /// <summary>Every 1/64 from −87 to 88, plus values between (so r covers its whole interval).</summary>
    private static float[] Inputs()
    {
        var values = new List<float>();
        for (float x = -87f; x <= 88f; x += 1f / 64)
            values.Add(x);
        var random = new Random(5);
        for (int i = 0; i < 20_000; i++)
            values.Add((float)(random.NextDouble() * 175 - 87));
        values.AddRange([0f, -0f, 1e-8f, -1e-8f, 0.5f, -0.5f, MathF.Log(2f) / 2, -MathF.Log(2f) / 2]);
        while (values.Count % 16 != 0)
            values.Add(1f);
        return [.. values];
    }

    [Test]
    public void IsWithinThreeUlpOfTheExactValue()
    {
        double worst = 0;
        float worstAt = 0;
        foreach (float x in Inputs())
        {
            double exact = Math.Exp(x);
            float got = FloatExp.Exp(x);
            double ulp = MathF.BitIncrement((float)exact) - (float)exact;
            double error = Math.Abs(got - exact) / ulp;
            if (error > worst)
                (worst, worstAt) = (error, x);
        }
        Assert.That(worst, Is.LessThanOrEqualTo(3.0), $"worst error {worst:F2} ulp at x = {worstAt:R}");
    }

    [Test]
    public void EveryWidthGivesTheScalarBits()
    {
        float[] x = Inputs();
        for (int i = 0; i < x.Length; i += 16)
        {
            Vector512<float> wide = FloatExp.Exp(Vector512.Create(x, i));
            for (int lane = 0; lane < 16; lane++)
            {
                float scalar = FloatExp.Exp(x[i + lane]);
                Assert.That(BitConverter.SingleToInt32Bits(wide[lane]), Is.EqualTo(BitConverter.SingleToInt32Bits(scalar)), $"512, x = {x[i + lane]:R}");
                Assert.That(FloatExp.Exp(Vector256.Create(x, i + lane / 8 * 8))[lane % 8], Is.EqualTo(scalar), $"256, x = {x[i + lane]:R}");
                Assert.That(FloatExp.Exp(Vector128.Create(x, i + lane / 4 * 4))[lane % 4], Is.EqualTo(scalar), $"128, x = {x[i + lane]:R}");
            }
        }
    }

    [TestCase(-1000f)]
    [TestCase(-88f)]
    [TestCase(89f)]
    [TestCase(1e30f)]
    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity)]
    public void OutsideTheRangeItSaturatesAtTheClamp(float x)
    {
        float limit = x < 0 ? FloatExp.Exp(-87f) : FloatExp.Exp(88f);
        Assert.That(FloatExp.Exp(x), Is.EqualTo(limit));
        Assert.That(FloatExp.Exp(Vector512.Create(x))[3], Is.EqualTo(limit));
        Assert.That(float.IsNormal(limit), Is.True);
        // σ and tanh built on it reach their limits.
        Assert.That(1f / (1f + FloatExp.Exp(-x)), Is.EqualTo(x < 0 ? 0f : 1f).Within(1e-37f));
    }

    [Test]
    public void NaNStaysNaN()
    {
        Assert.That(float.IsNaN(FloatExp.Exp(float.NaN)), Is.True);
        Assert.That(float.IsNaN(FloatExp.Exp(Vector512.Create(float.NaN))[0]), Is.True);
        Assert.That(float.IsNaN(FloatExp.Exp(Vector256.Create(float.NaN))[0]), Is.True);
        Assert.That(float.IsNaN(FloatExp.Exp(Vector128.Create(float.NaN))[0]), Is.True);
    }
}
