using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// What the recurrent cells' fused point-wise passes share: the vector width they run at and σ and tanh on lanes.
/// </summary>
internal static class RecurrentCellMath
{
    /// <summary>
    /// The widest vector (in floats) the cells' point-wise passes use: 16, 8 or 4 when Vector512, Vector256 or
    /// Vector128 is accelerated (ARM64 and x86 without AVX get the 4-lane path), 1 without SIMD. Each row runs
    /// the widest width first, then the narrower ones on what is left, then a scalar tail.
    /// </summary>
    public static readonly int NativeLanes =
        Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;

    /// <summary>The width in use: <see cref="NativeLanes"/>, or a narrower one set by the tests to check every path.</summary>
    public static int Lanes = NativeLanes;

    /// <summary>
    /// 2^−100 (≈ 7.9e−31): below it, a gradient flowing back through time is set to zero
    /// (<see cref="FlushTiny{T}"/>). The gradient is multiplied by gates and recurrent weights at every step back, so over
    /// a long sequence it can decay into the subnormal floats (below 2^−126), where every Intel vector operation reading
    /// or writing one takes a microcode assist of ~100 cycles and the GEMMs spread such values to every lane. Measured
    /// on Emerald Rapids at T = 200 with random inputs: the LSTM, GRU and SimpleRNN backward ran 10–25x slower than at
    /// T = 100 (benchmarks/README.md, tenth sitting). Flushing at 2^−126 itself (a CPU's flush-to-zero mode) is not
    /// enough: a value just above it times a weight lands below it inside the next GEMM. 26 binades higher, products
    /// with weights and activations down to 2^−26 stay normal. A gradient this small changes no float weight (an update
    /// is lost below 2^−24 of the weight; Adam's ε swamps it) and no sum it joins.
    /// </summary>
    public const float GradientFloor = 7.88860905e-31f;

    /// <summary>x, with lanes smaller in magnitude than <see cref="GradientFloor"/> set to ±0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FlushTiny<T>(T x) where T : struct, ILanes<T> => T.ZeroWhereSmaller(x, T.Create(GradientFloor));

    // σ(x) = 1 / (1 + e^−x); tanh(x) = 1 − 2 / (e^2x + 1). Both saturate correctly when e^… over- or underflows.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : struct, ILanes<T> => T.Create(1f) / (T.Create(1f) + T.Exp(T.Create(0f) - x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : struct, ILanes<T> => T.Create(1f) - T.Create(2f) / (T.Exp(x + x) + T.Create(1f));
}
