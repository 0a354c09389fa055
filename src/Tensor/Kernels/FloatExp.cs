using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// e^x in single precision, the same operations at every vector width (Vector512, Vector256, Vector128) and on a
/// scalar, so every lane gives the same bits whichever width computed it. The recurrent cells' σ and tanh are built
/// on it (see <see cref="RecurrentCellMath"/>).
/// </summary>
/// <remarks>
/// <para>Shape legend: x, and the result, are lanes of floats; nothing else.</para>
/// <para>The method (Cephes' <c>expf</c>): clamp x to [−87, 88] (e^x stays a normal float, so σ and tanh saturate to
/// their limits; by compare and select, so a NaN stays NaN); n = round(x·log₂e); r = x − n·ln 2 in two parts (C1 has 9 significant bits,
/// so n·C1 is exact and r loses nothing); e^r ≈ 1 + r + r²·P(r) with a degree-5 polynomial P, within ~2 ulp on
/// |r| ≤ ln2/2; then e^x = 2ⁿ·e^r, with 2ⁿ built straight into a float's exponent bits.</para>
/// <para>Rounding n without a conversion instruction: adding 1.5·2²³ to a float |v| &lt; 2²² leaves round(v) in the
/// low mantissa bits of the sum (the "magic number" trick), so t − 1.5·2²³ is round(v) as a float, and the sum's bit
/// pattern minus that of 1.5·2²³ is round(v) as an integer.</para>
/// <para>Why not .NET's <c>Vector512.Exp</c>: for floats it widens to doubles and runs the double algorithm (two
/// Vector512&lt;double&gt; halves per vector), about twice the work; the LSTM's forward cell calls e^x five times per
/// unit and step, and was 38% of the forward recurrence at batch 32. Only plain IEEE + − × and integer adds and shifts
/// are used (no fused multiply–add), so the result is also the same on every machine.</para>
/// </remarks>
internal static class FloatExp
{
    private const float Lowest = -87f, Highest = 88f;
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float Magic = 12582912f;           // 1.5·2²³
    private const int MagicBits = 0x4B400000;        // its bit pattern
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
        P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /// <summary>e^x on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(Lowest)), Vector512.Create(Lowest), x);
        x = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(Highest)), Vector512.Create(Highest), x);
        Vector512<float> t = x * Vector512.Create(Log2E) + Vector512.Create(Magic);
        Vector512<float> n = t - Vector512.Create(Magic);
        Vector512<float> r = x - n * Vector512.Create(Ln2High) - n * Vector512.Create(Ln2Low);
        Vector512<float> p = Vector512.Create(P0);
        p = p * r + Vector512.Create(P1);
        p = p * r + Vector512.Create(P2);
        p = p * r + Vector512.Create(P3);
        p = p * r + Vector512.Create(P4);
        p = p * r + Vector512.Create(P5);
        Vector512<float> er = p * (r * r) + r + Vector512<float>.One;
        Vector512<int> twoToN = Vector512.ShiftLeft(t.AsInt32() - Vector512.Create(MagicBits - 127), 23);
        return er * twoToN.AsSingle();
    }

    /// <summary>e^x on 8 lanes (the same steps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Lowest)), Vector256.Create(Lowest), x);
        x = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(Highest)), Vector256.Create(Highest), x);
        Vector256<float> t = x * Vector256.Create(Log2E) + Vector256.Create(Magic);
        Vector256<float> n = t - Vector256.Create(Magic);
        Vector256<float> r = x - n * Vector256.Create(Ln2High) - n * Vector256.Create(Ln2Low);
        Vector256<float> p = Vector256.Create(P0);
        p = p * r + Vector256.Create(P1);
        p = p * r + Vector256.Create(P2);
        p = p * r + Vector256.Create(P3);
        p = p * r + Vector256.Create(P4);
        p = p * r + Vector256.Create(P5);
        Vector256<float> er = p * (r * r) + r + Vector256<float>.One;
        Vector256<int> twoToN = Vector256.ShiftLeft(t.AsInt32() - Vector256.Create(MagicBits - 127), 23);
        return er * twoToN.AsSingle();
    }

    /// <summary>e^x on 4 lanes (the same steps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        x = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(Lowest)), Vector128.Create(Lowest), x);
        x = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(Highest)), Vector128.Create(Highest), x);
        Vector128<float> t = x * Vector128.Create(Log2E) + Vector128.Create(Magic);
        Vector128<float> n = t - Vector128.Create(Magic);
        Vector128<float> r = x - n * Vector128.Create(Ln2High) - n * Vector128.Create(Ln2Low);
        Vector128<float> p = Vector128.Create(P0);
        p = p * r + Vector128.Create(P1);
        p = p * r + Vector128.Create(P2);
        p = p * r + Vector128.Create(P3);
        p = p * r + Vector128.Create(P4);
        p = p * r + Vector128.Create(P5);
        Vector128<float> er = p * (r * r) + r + Vector128<float>.One;
        Vector128<int> twoToN = Vector128.ShiftLeft(t.AsInt32() - Vector128.Create(MagicBits - 127), 23);
        return er * twoToN.AsSingle();
    }

    /// <summary>e^x on one float (the same steps; the vectors' scalar tail).</summary>
    public static float Exp(float x)
    {
        x = x < Lowest ? Lowest : x;
        x = x > Highest ? Highest : x;
        float t = x * Log2E + Magic;
        float n = t - Magic;
        float r = x - n * Ln2High - n * Ln2Low;
        float p = P0;
        p = p * r + P1;
        p = p * r + P2;
        p = p * r + P3;
        p = p * r + P4;
        p = p * r + P5;
        float er = p * (r * r) + r + 1f;
        float twoToN = BitConverter.Int32BitsToSingle((BitConverter.SingleToInt32Bits(t) - (MagicBits - 127)) << 23);
        return er * twoToN;
    }
}
