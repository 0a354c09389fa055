using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// e^x on 16 floats in single precision, inlined: what the fused LSTM step's epilogue uses for σ and tanh.
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
        // Clamp with x86's max/min, which return their second operand when either is NaN: a NaN lane stays NaN.
        x = Avx512F.Max(Vector512.Create(-87.33654f), x);
        x = Avx512F.Min(Vector512.Create(88.0f), x);
        Vector512<float> n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        // r = x − n·ln2, in two parts: n·0.693359375 is exact (few mantissa bits), then the rest of ln 2.
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        Vector512<float> p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512.Create(1f);
        // p·2^n in one instruction (vscalefps; n is a whole number within [−126, 127] after the clamp): the same
        // product as building 2^n in the exponent bits and multiplying, exact but for the rounding of a subnormal result.
        return Avx512F.Scale(p, n);
    }

    /// <summary>
    /// <see cref="Exp"/> of four vectors in place, the four evaluations interleaved step by step: each lane gets
    /// exactly <see cref="Exp"/>'s operations (the same bits), but the four dependency chains sit side by side in the
    /// instruction stream, so the core overlaps them (one exp is a chain of ~17 dependent operations; alone, the
    /// reorder window sees too little of the next one to hide its latency).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exp4(ref Vector512<float> x0, ref Vector512<float> x1, ref Vector512<float> x2, ref Vector512<float> x3)
    {
        Vector512<float> low = Vector512.Create(-87.33654f), high = Vector512.Create(88.0f);
        Vector512<float> a0 = Avx512F.Min(high, Avx512F.Max(low, x0)), a1 = Avx512F.Min(high, Avx512F.Max(low, x1));
        Vector512<float> a2 = Avx512F.Min(high, Avx512F.Max(low, x2)), a3 = Avx512F.Min(high, Avx512F.Max(low, x3));
        Vector512<float> log2e = Vector512.Create(1.44269504088896341f);
        Vector512<float> n0 = Vector512.Round(a0 * log2e), n1 = Vector512.Round(a1 * log2e);
        Vector512<float> n2 = Vector512.Round(a2 * log2e), n3 = Vector512.Round(a3 * log2e);
        Vector512<float> ln2High = Vector512.Create(-0.693359375f), ln2Low = Vector512.Create(2.12194440e-4f);
        Vector512<float> r0 = Vector512.FusedMultiplyAdd(n0, ln2High, a0), r1 = Vector512.FusedMultiplyAdd(n1, ln2High, a1);
        Vector512<float> r2 = Vector512.FusedMultiplyAdd(n2, ln2High, a2), r3 = Vector512.FusedMultiplyAdd(n3, ln2High, a3);
        r0 = Vector512.FusedMultiplyAdd(n0, ln2Low, r0); r1 = Vector512.FusedMultiplyAdd(n1, ln2Low, r1);
        r2 = Vector512.FusedMultiplyAdd(n2, ln2Low, r2); r3 = Vector512.FusedMultiplyAdd(n3, ln2Low, r3);
        Vector512<float> p0 = Vector512.Create(1.9875691500e-4f), p1 = p0, p2 = p0, p3 = p0;
        Horner4(ref p0, ref p1, ref p2, ref p3, r0, r1, r2, r3, Vector512.Create(1.3981999507e-3f));
        Horner4(ref p0, ref p1, ref p2, ref p3, r0, r1, r2, r3, Vector512.Create(8.3334519073e-3f));
        Horner4(ref p0, ref p1, ref p2, ref p3, r0, r1, r2, r3, Vector512.Create(4.1665795894e-2f));
        Horner4(ref p0, ref p1, ref p2, ref p3, r0, r1, r2, r3, Vector512.Create(1.6666665459e-1f));
        Horner4(ref p0, ref p1, ref p2, ref p3, r0, r1, r2, r3, Vector512.Create(5.0000001201e-1f));
        Vector512<float> one = Vector512.Create(1f);
        p0 = Vector512.FusedMultiplyAdd(p0, r0 * r0, r0) + one; p1 = Vector512.FusedMultiplyAdd(p1, r1 * r1, r1) + one;
        p2 = Vector512.FusedMultiplyAdd(p2, r2 * r2, r2) + one; p3 = Vector512.FusedMultiplyAdd(p3, r3 * r3, r3) + one;
        x0 = Avx512F.Scale(p0, n0); x1 = Avx512F.Scale(p1, n1);
        x2 = Avx512F.Scale(p2, n2); x3 = Avx512F.Scale(p3, n3);
    }

    /// <summary>One Horner step on four polynomials: p = p·r + c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horner4(ref Vector512<float> p0, ref Vector512<float> p1, ref Vector512<float> p2, ref Vector512<float> p3,
        Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3, Vector512<float> c)
    {
        p0 = Vector512.FusedMultiplyAdd(p0, r0, c); p1 = Vector512.FusedMultiplyAdd(p1, r1, c);
        p2 = Vector512.FusedMultiplyAdd(p2, r2, c); p3 = Vector512.FusedMultiplyAdd(p3, r3, c);
    }
}
