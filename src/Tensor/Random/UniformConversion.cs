using System.Numerics;

namespace NanoNet;

/// <summary>
/// Random 32-bit values to floats, a vector at a time: the same float, bit for bit, as
/// <see cref="RandomStream"/>'s scalar conversion (the top 24 bits times 2^−24, then the fill's arithmetic).
/// </summary>
/// <remarks>
/// Every step is exact or one correctly rounded IEEE operation in the scalar order: value >> 8 is below 2^24, so its
/// conversion to float is exact, and so is the product with 2^−24; then scale·u and low + that, each rounded once
/// (no fused multiply–add), as <c>low + scale * u</c> is in scalar code.
/// </remarks>
internal static class UniformConversion
{
    private const float FloatUnit = 1f / (1 << 24); // 2^-24

    /// <summary>target[i] = low + scale·u(words[i]), u(v) = (v >> 8)·2^−24 ∈ [0, 1).</summary>
    public static void ToUniform(ReadOnlySpan<uint> words, Span<float> target, float low, float scale)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lows = new Vector<float>(low);
            var scales = new Vector<float>(scale);
            for (; i <= target.Length - Vector<uint>.Count; i += Vector<uint>.Count)
                (lows + scales * UnitFloats(new Vector<uint>(words[i..]))).CopyTo(target[i..]);
        }
        for (; i < target.Length; i++)
            target[i] = low + scale * ((words[i] >> 8) * FloatUnit);
    }

    /// <summary>
    /// Dropout's scaled keep-mask straight from the random values: target[i] = u(words[i]) ≥ rate ? scale : 0,
    /// the same floats as <see cref="ToUniform"/> with (low, scale) = (0, 1) followed by the comparison
    /// (0 + 1·u is u exactly).
    /// </summary>
    public static void ToScaledMask(ReadOnlySpan<uint> words, Span<float> target, float rate, float scale)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var rates = new Vector<float>(rate);
            var scales = new Vector<float>(scale);
            for (; i <= target.Length - Vector<uint>.Count; i += Vector<uint>.Count)
            {
                Vector<float> u = UnitFloats(new Vector<uint>(words[i..]));
                Vector.ConditionalSelect(Vector.GreaterThanOrEqual(u, rates), scales, Vector<float>.Zero).CopyTo(target[i..]);
            }
        }
        for (; i < target.Length; i++)
            target[i] = (words[i] >> 8) * FloatUnit >= rate ? scale : 0f;
    }

    /// <summary>(v >> 8)·2^−24 per lane: the top 24 bits as an exact float in [0, 1).</summary>
    private static Vector<float> UnitFloats(Vector<uint> values) =>
        Vector.ConvertToSingle((values >> 8).As<uint, int>()) * new Vector<float>(FloatUnit);
}
