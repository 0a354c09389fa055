using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// A ReLU's derivative as bits (<see cref="ReluBits"/>): bit j is [y[j] &gt; 0] for every kind of float, and the mask it
/// makes is <see cref="ActivationKernels.ReluMask"/>'s dZ bit for bit (signed zeros and NaNs included).
/// </summary>
public unsafe class ReluBitsTests
{
    // Every kind of value y or dY can hold: zeros of both signs, NaNs, the smallest denormals, infinities, ordinary values.
    private static readonly float[] Specials =
    [
        0f, -0f, float.NaN, -float.NaN, float.Epsilon, -float.Epsilon, float.PositiveInfinity, float.NegativeInfinity,
        1f, -1f, float.MaxValue, float.MinValue, 1e-38f, -1e-38f, 0.5f, -2.5f,
    ];

    /// <summary>32 values: the specials in an order set by <paramref name="seed"/>, so each lands in lanes of both halves.</summary>
    private static float[] Values(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, 32).Select(_ => Specials[rng.Next(Specials.Length)])];
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void BitJIsWhetherOutputJIsAboveZero(int seed)
    {
        Assume.That(Vector512.IsHardwareAccelerated, "needs accelerated Vector512");
        float[] y = Values(seed);
        int bits;
        fixed (float* py = y)
            bits = ReluBits.Of(py);
        for (int j = 0; j < 32; j++)
            Assert.That((bits >> j & 1) == 1, Is.EqualTo(y[j] > 0f), $"lane {j}: y = {y[j]}");
    }

    [TestCase(5)]
    [TestCase(6)]
    [TestCase(7)]
    public void TheMaskIsReluMasksDzBitForBit(int seed)
    {
        Assume.That(Vector512.IsHardwareAccelerated, "needs accelerated Vector512");
        float[] y = Values(seed), dY = Values(seed + 100);
        float[] expected = (float[])dY.Clone();
        ActivationKernels.ReluMask(y, expected);
        var actual = new float[32];
        fixed (float* py = y, pdY = dY, pActual = actual)
        {
            ReluBits.Mask(pdY, ReluBits.Of(py), out Vector512<float> low, out Vector512<float> high);
            low.Store(pActual);
            high.Store(pActual + 16);
        }
        for (int j = 0; j < 32; j++)
            Assert.That(BitConverter.SingleToInt32Bits(actual[j]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[j])),
                $"lane {j}: y = {y[j]}, dY = {dY[j]}");
    }

    [Test]
    public void LengthIsOneIntPer32FiltersOfEachPixel()
    {
        Assert.That(ReluBits.Length(32 * 32 * 32, 32), Is.EqualTo(32 * 32 * 32));
        Assert.That(ReluBits.Length(10, 96), Is.EqualTo(30));
        Assert.Throws<OverflowException>(() => ReluBits.Length(1L << 40, 64));
    }
}
