using System.Numerics;
using System.Runtime.InteropServices;

namespace NanoNet;

/// <summary>
/// Random 32-bit values to floats, a vector at a time: the same float, bit for bit, as
/// <see cref="RandomStream"/>'s scalar conversion (the top 24 bits times 2^−24, then the fill's arithmetic); and
/// dropout's keep-mask, two elements from each value's 16-bit halves (<see cref="ToScaledMask"/>).
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
    /// The keep threshold of dropout at <paramref name="rate"/> on 16 random bits h: an element is kept when
    /// h·2^−16 ≥ rate, that is when h ≥ ⌈rate·2^16⌉ (exact: rate·2^16 is exact in double). The probability of keeping is
    /// then 1 − ⌈rate·2^16⌉/2^16, within 2^−16 of 1 − rate, and exactly it when rate is a multiple of 2^−16 (0.25, 0.5).
    /// </summary>
    public static uint KeepThreshold(float rate) => (uint)Math.Ceiling(rate * 65536.0);

    /// <summary>
    /// Dropout's scaled keep-mask from 16 random bits per element: target[i] = h_i ≥ <paramref name="threshold"/> ? scale : 0,
    /// where h_i is the low half of words[i/2] for an even i and its high half for an odd i (each 32-bit value gives two
    /// elements, so the Philox draws, which bound dropout, are halved). <paramref name="words"/> holds at least
    /// ⌈target.Length/2⌉ values.
    /// </summary>
    public static void ToScaledMask(ReadOnlySpan<uint> words, Span<float> target, uint threshold, float scale)
    {
        if (words.Length < (target.Length + 1) / 2)
            throw new ArgumentException($"{target.Length} mask values need {(target.Length + 1) / 2} random values, got {words.Length}.", nameof(words));
        int i = 0;
        if (Vector.IsHardwareAccelerated && BitConverter.IsLittleEndian)
        {
            // On a little-endian machine the 16-bit halves in memory order are low(w0), high(w0), low(w1), ...: element order.
            ReadOnlySpan<ushort> halves = MemoryMarshal.Cast<uint, ushort>(words);
            var thresholds = new Vector<uint>(threshold);
            var scales = new Vector<float>(scale);
            int perVector = Vector<ushort>.Count, half = Vector<uint>.Count;
            for (; i <= target.Length - perVector; i += perVector)
            {
                Vector.Widen(new Vector<ushort>(halves[i..]), out Vector<uint> first, out Vector<uint> second);
                Vector.ConditionalSelect(Vector.GreaterThanOrEqual(first, thresholds).As<uint, float>(), scales, Vector<float>.Zero).CopyTo(target[i..]);
                Vector.ConditionalSelect(Vector.GreaterThanOrEqual(second, thresholds).As<uint, float>(), scales, Vector<float>.Zero).CopyTo(target[(i + half)..]);
            }
        }
        for (; i < target.Length; i++)
            target[i] = Half(words, i) >= threshold ? scale : 0f;
    }

    /// <summary>Element <paramref name="i"/>'s 16 random bits: the low half of words[i/2] when i is even, else the high half.</summary>
    public static uint Half(ReadOnlySpan<uint> words, int i) => (words[i >> 1] >> (16 * (i & 1))) & 0xFFFF;

    /// <summary>(v >> 8)·2^−24 per lane: the top 24 bits as an exact float in [0, 1).</summary>
    private static Vector<float> UnitFloats(Vector<uint> values) =>
        Vector.ConvertToSingle((values >> 8).As<uint, int>()) * new Vector<float>(FloatUnit);
}
