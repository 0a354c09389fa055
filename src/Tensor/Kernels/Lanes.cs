using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// A vector of float lanes, as much as the point-wise kernels need: load/store, broadcast, + − × ÷,
/// square root, exponential, min/max and sign. Lets a kernel write its formula once (generic over the
/// lane type: an optimizer's update rule, the LSTM cell) and run it as Vector512, Vector256, Vector128
/// and a one-lane scalar tail.
/// </summary>
/// <remarks>
/// <para>
/// <c>System.Runtime.Intrinsics.ISimdVector</c> would do this job but is internal in .NET 10, hence this
/// small twin. Every implementation is a single-field struct whose members inline to one instruction.
/// </para>
/// <para>
/// Public so that kernels in other NanoNet libraries (the optimizers' fused update) can be written
/// the same way; it is a building block for kernels, not part of the user-facing API.
/// </para>
/// <para>
/// Determinism: only correctly rounded IEEE operations are used (no fused multiply–add, no estimates; the one
/// exception, <c>MultiplyAdd</c>, is for register tiles and documents its rounding),
/// so a lane of <see cref="Lanes512"/> and the scalar <see cref="Lanes1"/> compute bit-identical results
/// (all but <c>Exp</c>, which the optimizers do not use),
/// and an update does not depend on which vector width the machine has.
/// </para>
/// </remarks>
public interface ILanes<TSelf> where TSelf : struct, ILanes<TSelf>
{
    /// <summary>Number of floats in one vector.</summary>
    static abstract int Count { get; }

    /// <summary>Loads <see cref="Count"/> floats from <paramref name="source"/>[offset..].</summary>
    static abstract TSelf Load(ref float source, nuint offset);

    /// <summary>Stores <see cref="Count"/> floats to <paramref name="destination"/>[offset..].</summary>
    static abstract void Store(TSelf value, ref float destination, nuint offset);

    /// <summary>Every lane set to <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary>Lane-wise square root.</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>Lane-wise e^x, within an ulp or two of MathF.Exp (<see cref="FloatExp"/> on AVX-512 and on AVX2 + FMA,
    /// else .NET's vectorised Exp).</summary>
    static abstract TSelf Exp(TSelf x);

    /// <summary>Lane-wise IEEE 754:2019 minimum (NaN propagates).</summary>
    static abstract TSelf Min(TSelf a, TSelf b);

    /// <summary>Lane-wise IEEE 754:2019 maximum (NaN propagates).</summary>
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>Lane-wise sign: 1 for positive, −1 for negative, 0 for zero and NaN.</summary>
    static abstract TSelf Sign(TSelf x);

    /// <summary>
    /// Lane-wise: ±0 (x's sign) where |x| &lt; <paramref name="floor"/> (a positive lane), x elsewhere (NaN and ∞ included).
    /// A flush-to-zero with a chosen threshold, made explicit since .NET cannot set the CPU's flush-to-zero mode: see
    /// <see cref="TinyFloats"/>.
    /// </summary>
    static abstract TSelf ZeroWhereSmaller(TSelf x, TSelf floor);

    /// <summary>Lane-wise sum.</summary>
    static abstract TSelf operator +(TSelf a, TSelf b);

    /// <summary>Lane-wise difference.</summary>
    static abstract TSelf operator -(TSelf a, TSelf b);

    /// <summary>Lane-wise product.</summary>
    static abstract TSelf operator *(TSelf a, TSelf b);

    /// <summary>Lane-wise quotient.</summary>
    static abstract TSelf operator /(TSelf a, TSelf b);

    /// <summary>
    /// Lane-wise accumulator = a·b + accumulator, for the register tiles of products (the convolution weight gradient's): fused, one rounding, on
    /// 512- and 256-bit vectors (<c>FusedMultiplyAdd</c>, as the GEMM's kernels of those widths) and wherever the machine
    /// has FMA (every ARM64); on 128-bit and one lane without FMA (x86 without AVX) a multiply then an add
    /// (<c>MultiplyAddEstimate</c>, as the GEMM's 128-bit kernels), since a fused one would be emulated in software.
    /// Not for the optimizers' rules: it is the one member whose bits depend on the machine.
    /// </summary>
    static abstract void MultiplyAdd(TSelf a, TSelf b, ref TSelf accumulator);
}

/// <summary>16 lanes (AVX-512).</summary>
/// <param name="value">The lanes.</param>
public readonly struct Lanes512(Vector512<float> value) : ILanes<Lanes512>
{
    private readonly Vector512<float> _value = value;

    /// <inheritdoc />
    public static int Count => Vector512<float>.Count;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Load(ref float source, nuint offset) => new(Vector512.LoadUnsafe(ref source, offset));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes512 value, ref float destination, nuint offset) => value._value.StoreUnsafe(ref destination, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Create(float value) => new(Vector512.Create(value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Sqrt(Lanes512 x) => new(Vector512.Sqrt(x._value));

    /// <inheritdoc />
    /// <remarks>The fused LSTM cell's <see cref="FloatExp"/> (single precision, inlined): .NET's Vector512.Exp widens to
    /// doubles out of line, 2.5–3x slower (<c>exp-time</c>).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Exp(Lanes512 x) => new(Avx512F.IsSupported ? FloatExp.Exp(x._value) : Vector512.Exp(x._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Min(Lanes512 a, Lanes512 b) => new(Vector512.Min(a._value, b._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Max(Lanes512 a, Lanes512 b) => new(Vector512.Max(a._value, b._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Sign(Lanes512 x) =>
        new((Vector512.GreaterThan(x._value, Vector512<float>.Zero) & Vector512<float>.One)
          - (Vector512.LessThan(x._value, Vector512<float>.Zero) & Vector512<float>.One));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 ZeroWhereSmaller(Lanes512 x, Lanes512 floor) =>
        new(Vector512.AndNot(x._value, Vector512.LessThan(Vector512.Abs(x._value), floor._value)
            & Vector512.Create(int.MaxValue).AsSingle())); // clears the magnitude bits, keeps the sign: ±0

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator +(Lanes512 a, Lanes512 b) => new(a._value + b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 a, Lanes512 b) => new(a._value - b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator *(Lanes512 a, Lanes512 b) => new(a._value * b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator /(Lanes512 a, Lanes512 b) => new(a._value / b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd(Lanes512 a, Lanes512 b, ref Lanes512 accumulator) =>
        Unsafe.As<Lanes512, Vector512<float>>(ref accumulator) = Vector512.FusedMultiplyAdd(a._value, b._value, accumulator._value);
}

/// <summary>8 lanes (AVX2).</summary>
/// <param name="value">The lanes.</param>
public readonly struct Lanes256(Vector256<float> value) : ILanes<Lanes256>
{
    private readonly Vector256<float> _value = value;

    /// <inheritdoc />
    public static int Count => Vector256<float>.Count;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Load(ref float source, nuint offset) => new(Vector256.LoadUnsafe(ref source, offset));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes256 value, ref float destination, nuint offset) => value._value.StoreUnsafe(ref destination, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Create(float value) => new(Vector256.Create(value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Sqrt(Lanes256 x) => new(Vector256.Sqrt(x._value));

    /// <inheritdoc />
    /// <remarks><see cref="FloatExp"/>'s 8-lane version on AVX2 + FMA (bit for bit the 16-lane one's lanes): .NET's
    /// Vector256.Exp widens to doubles out of line, 2.4x slower (<c>exp-time</c>, Zen 3).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Exp(Lanes256 x) => new(FloatExp.IsAccelerated256 ? FloatExp.Exp(x._value) : Vector256.Exp(x._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Min(Lanes256 a, Lanes256 b) => new(Vector256.Min(a._value, b._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Max(Lanes256 a, Lanes256 b) => new(Vector256.Max(a._value, b._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Sign(Lanes256 x) =>
        new((Vector256.GreaterThan(x._value, Vector256<float>.Zero) & Vector256<float>.One)
          - (Vector256.LessThan(x._value, Vector256<float>.Zero) & Vector256<float>.One));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 ZeroWhereSmaller(Lanes256 x, Lanes256 floor) =>
        new(Vector256.AndNot(x._value, Vector256.LessThan(Vector256.Abs(x._value), floor._value)
            & Vector256.Create(int.MaxValue).AsSingle())); // clears the magnitude bits, keeps the sign: ±0

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator +(Lanes256 a, Lanes256 b) => new(a._value + b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 a, Lanes256 b) => new(a._value - b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator *(Lanes256 a, Lanes256 b) => new(a._value * b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator /(Lanes256 a, Lanes256 b) => new(a._value / b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd(Lanes256 a, Lanes256 b, ref Lanes256 accumulator) =>
        Unsafe.As<Lanes256, Vector256<float>>(ref accumulator) = Vector256.FusedMultiplyAdd(a._value, b._value, accumulator._value);
}

/// <summary>4 lanes (SSE / AdvSimd).</summary>
/// <param name="value">The lanes.</param>
public readonly struct Lanes128(Vector128<float> value) : ILanes<Lanes128>
{
    private readonly Vector128<float> _value = value;

    /// <inheritdoc />
    public static int Count => Vector128<float>.Count;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Load(ref float source, nuint offset) => new(Vector128.LoadUnsafe(ref source, offset));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes128 value, ref float destination, nuint offset) => value._value.StoreUnsafe(ref destination, offset);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Create(float value) => new(Vector128.Create(value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Sqrt(Lanes128 x) => new(Vector128.Sqrt(x._value));

    /// <inheritdoc />
    public static Lanes128 Exp(Lanes128 x) => new(Vector128.Exp(x._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Min(Lanes128 a, Lanes128 b) => new(Vector128.Min(a._value, b._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Max(Lanes128 a, Lanes128 b) => new(Vector128.Max(a._value, b._value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 Sign(Lanes128 x) =>
        new((Vector128.GreaterThan(x._value, Vector128<float>.Zero) & Vector128<float>.One)
          - (Vector128.LessThan(x._value, Vector128<float>.Zero) & Vector128<float>.One));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 ZeroWhereSmaller(Lanes128 x, Lanes128 floor) =>
        new(Vector128.AndNot(x._value, Vector128.LessThan(Vector128.Abs(x._value), floor._value)
            & Vector128.Create(int.MaxValue).AsSingle())); // clears the magnitude bits, keeps the sign: ±0

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator +(Lanes128 a, Lanes128 b) => new(a._value + b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator -(Lanes128 a, Lanes128 b) => new(a._value - b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator *(Lanes128 a, Lanes128 b) => new(a._value * b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes128 operator /(Lanes128 a, Lanes128 b) => new(a._value / b._value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd(Lanes128 a, Lanes128 b, ref Lanes128 accumulator) =>
        Unsafe.As<Lanes128, Vector128<float>>(ref accumulator) = Vector128.MultiplyAddEstimate(a._value, b._value, accumulator._value);
}

/// <summary>One lane: the scalar tail, and the whole loop on hardware without SIMD.</summary>
/// <param name="value">The single lane.</param>
public readonly struct Lanes1(float value) : ILanes<Lanes1>
{
    /// <summary>The single lane.</summary>
    public float Value { get; } = value;

    /// <inheritdoc />
    public static int Count => 1;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Load(ref float source, nuint offset) => new(Unsafe.Add(ref source, offset));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes1 value, ref float destination, nuint offset) => Unsafe.Add(ref destination, offset) = value.Value;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Create(float value) => new(value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Sqrt(Lanes1 x) => new(MathF.Sqrt(x.Value));

    /// <inheritdoc />
    public static Lanes1 Exp(Lanes1 x) => new(MathF.Exp(x.Value));

    // Math.Min/Max follow IEEE 754:2019 minimum/maximum, like the vector versions above.
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Min(Lanes1 a, Lanes1 b) => new(Math.Min(a.Value, b.Value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Max(Lanes1 a, Lanes1 b) => new(Math.Max(a.Value, b.Value));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 Sign(Lanes1 x) => new(x.Value > 0f ? 1f : x.Value < 0f ? -1f : 0f);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 ZeroWhereSmaller(Lanes1 x, Lanes1 floor) => new(MathF.Abs(x.Value) < floor.Value ? 0f * x.Value : x.Value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator +(Lanes1 a, Lanes1 b) => new(a.Value + b.Value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator -(Lanes1 a, Lanes1 b) => new(a.Value - b.Value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator *(Lanes1 a, Lanes1 b) => new(a.Value * b.Value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes1 operator /(Lanes1 a, Lanes1 b) => new(a.Value / b.Value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MultiplyAdd(Lanes1 a, Lanes1 b, ref Lanes1 accumulator) =>
        accumulator = new(float.MultiplyAddEstimate(a.Value, b.Value, accumulator.Value));
}

/// <summary>
/// The floor under values that decay step after step: a gradient flowing back through time (the recurrent cells) and
/// an optimizer's states for a weight without gradient (<c>FusedUpdate</c>). Each is multiplied by something below 1
/// at every step, so it can decay into the subnormal floats (below 2^−126), where every Intel vector operation reading
/// or writing one takes a microcode assist of ~100 cycles (AMD's Zen cores handle most at full speed). .NET cannot set
/// the CPU's flush-to-zero mode (TensorFlow runs with it on), so these values are flushed explicitly.
/// </summary>
/// <remarks>
/// <para>Measured on Emerald Rapids (benchmarks/README.md, tenth sitting): at T = 200 with random inputs the LSTM, GRU
/// and SimpleRNN backward ran 7–10x slower per step than at T = 100; RMSprop and Adam over a 20,000×128 table whose
/// states had decayed for 1,000 steps, 5–10x slower.</para>
/// <para>Why 2^−100 and not 2^−126: a value just above 2^−126 times a weight lands below it inside the next GEMM; 26
/// binades higher, products with weights and activations down to 2^−26 stay normal. A gradient or a state this small
/// moves no float weight (an update is lost below 2^−24 of the weight; ε swamps it in every optimizer's denominator)
/// and changes no sum it joins.</para>
/// </remarks>
public static class TinyFloats
{
    /// <summary>2^−100 (≈ 7.9e−31): magnitudes below it are flushed to ±0.</summary>
    public const float Floor = 7.88860905e-31f;

    /// <summary>x, with lanes smaller in magnitude than <see cref="Floor"/> set to ±0 (x's sign).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Flush<T>(T x) where T : struct, ILanes<T> => T.ZeroWhereSmaller(x, T.Create(Floor));
}
