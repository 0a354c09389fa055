using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// e^x on 16 floats (AVX-512) or 8 (AVX2 + FMA) in single precision, inlined: what the fused LSTM step's epilogue
/// and the recurrent cells use for σ and tanh.
/// </summary>
/// <remarks>
/// <para>Shape legend: x and the result are one Vector512&lt;float&gt; (16 independent lanes).</para>
/// <para>Why not <c>Vector512.Exp</c>: .NET computes a float vector's e^x by widening to two vectors of doubles and
/// calls it out of line; in the fused step the cell's three exps per tile row cost as much as half the tile's FMAs
/// (measured: the fused LSTM forward at batch 32 took 25 ms on one thread, 15 ms with the cell left out).</para>
/// <para>The method (Cephes' expf): e^x = 2^n · e^r with n = round(x·log2 e) and r = x − n·ln 2 (ln 2 split in a
/// high part exact in float and a low part, so r is accurate), |r| ≤ ln2/2; e^r = 1 + r + r²·P(r) with P of degree 5;
/// 2^n is applied by vscalefps. x is clamped to [−87.3, 88] first, so 2^n stays a normal float: the result
/// saturates at about 1.2e−38 and 1.7e38 instead of 0 and ∞, which σ(x) = 1/(1 + e^−x) and
/// tanh(x) = 1 − 2/(e^2x + 1) turn into their limits within a float's rounding. NaN stays NaN. Within 2 ulp of
/// <see cref="MathF.Exp"/> over the clamped range (<c>FloatExpTests</c>).</para>
/// </remarks>
internal static class FloatExp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Clamped(x);
        Vector512<float> n = PowerOfTwo(x);
        return Scaled(Polynomial(Remainder(x, n)), n);
    }

    // The stages of Exp, one dependent chain each, for callers that run several exps stage by stage (the fused LSTM
    // cell): the same instructions per vector, so the same bits.

    /// <summary>x within [−87.34, 88]: x86's max/min return their second operand when either is NaN, so NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clamped(Vector512<float> x) =>
        Avx512F.Min(Vector512.Create(88.0f), Avx512F.Max(Vector512.Create(-87.33654f), x));

    /// <summary>n = round(x·log2 e), the power of two of e^x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> PowerOfTwo(Vector512<float> x) => Vector512.Round(x * Vector512.Create(1.44269504088896341f));

    /// <summary>r = x − n·ln2, in two parts: n·0.693359375 is exact (few mantissa bits), then the rest of ln 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Remainder(Vector512<float> x, Vector512<float> n) =>
        Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x));

    /// <summary>e^r = 1 + r + r²·P(r), |r| ≤ ln2/2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Polynomial(Vector512<float> r)
    {
        Vector512<float> p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        return Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512.Create(1f);
    }

    /// <summary>p·2^n in one instruction (vscalefps; n is a whole number within [−126, 127] after the clamp): the same
    /// product as building 2^n in the exponent bits and multiplying, exact but for the rounding of a subnormal result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scaled(Vector512<float> p, Vector512<float> n) => Avx512F.Scale(p, n);

    // The same e^x on 8 floats, for AVX2 + FMA machines (no AVX-512): the same constants and stages, so each lane is
    // bit for bit the 16-lane version's. Callers check IsAccelerated256.

    /// <summary>Whether the 8-lane <see cref="Exp(Vector256{float})"/> runs in hardware (AVX2 and FMA).</summary>
    public static bool IsAccelerated256 => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>e^x on 8 floats (AVX2 + FMA; see <see cref="IsAccelerated256"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Clamped(x);
        Vector256<float> n = PowerOfTwo(x);
        return Scaled(Polynomial(Remainder(x, n)), n);
    }

    /// <inheritdoc cref="Clamped(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamped(Vector256<float> x) =>
        Avx.Min(Vector256.Create(88.0f), Avx.Max(Vector256.Create(-87.33654f), x));

    /// <inheritdoc cref="PowerOfTwo(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> PowerOfTwo(Vector256<float> x) => Vector256.Round(x * Vector256.Create(1.44269504088896341f));

    /// <inheritdoc cref="Remainder(Vector512{float}, Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Remainder(Vector256<float> x, Vector256<float> n) =>
        Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x));

    /// <inheritdoc cref="Polynomial(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Polynomial(Vector256<float> r)
    {
        Vector256<float> p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        return Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256.Create(1f);
    }

    /// <summary>p·2^n without vscalefps: 2^n built in the exponent bits ((n + 127) &lt;&lt; 23; n is a whole number
    /// within [−126, 127] after the clamp, so 2^n is a normal float) and multiplied in. The exact product rounded once,
    /// as vscalefps rounds it: the same bits. A NaN n converts to int.MinValue, whose shifted bits are 1.0f, so a NaN
    /// p stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scaled(Vector256<float> p, Vector256<float> n) =>
        p * Vector256.ShiftLeft(Avx.ConvertToVector256Int32WithTruncation(n) + Vector256.Create(127), 23).AsSingle();
}
