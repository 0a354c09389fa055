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

    // σ(x) = 1 / (1 + e^−x); tanh(x) = 1 − 2 / (e^2x + 1). Both saturate correctly when e^… over- or underflows.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : struct, ILanes<T> => T.Create(1f) / (T.Create(1f) + T.Exp(T.Create(0f) - x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : struct, ILanes<T> => T.Create(1f) - T.Create(2f) / (T.Exp(x + x) + T.Create(1f));
}
