using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// A ReLU's derivative kept as one bit per output: all a convolution's backward needs of its output y, in 1/32 of
/// y's size. The direct forward writes the bits from its tile's registers (<see cref="Of(Vector512{float}, Vector512{float})"/>; on AVX2 a byte per 8 outputs), and the stem's fused weight
/// gradient makes dZ from them in registers (<see cref="Mask"/>).
/// </summary>
/// <remarks>
/// <para>Shape legend: y is pixels×F (NHWC, F a multiple of 32); bits is pixels×(F/32) ints; bit j of
/// bits[p·F/32 + f/32] is [y[p, f + j] &gt; 0], for f a multiple of 32 and j in 0..32.</para>
/// <para>Why: the Keras cifar10_cnn stem (3×3 RGB → 32 filters, 'same', batch 32) has no input gradient, and its
/// weight gradient read dY and y, 4 MB each, for 57 MFLOP: half of what it streamed was y, only to test y &gt; 0. The
/// bits are 128 KB. (y itself stays: the next layer's input.)</para>
/// <para>Bitwise: [y &gt; 0] is false for 0, −0 and NaN, as <see cref="ActivationKernels.ReluMask"/>'s test, and
/// <see cref="Mask"/> gives dY where the bit is set and +0 elsewhere, as that kernel does: the same dZ.</para>
/// </remarks>
internal static unsafe class ReluBits
{
    /// <summary>Ints of bits for <paramref name="pixels"/> outputs of <paramref name="filters"/> filters (a multiple of 32).</summary>
    public static int Length(long pixels, int filters) => checked((int)(pixels * (filters / 32)));

    /// <summary>The bits of 32 outputs y[0..32): bit j is [y[j] &gt; 0].</summary>
    public static int Of(float* y) => Of(Vector512.Load(y), Vector512.Load(y + 16));

    /// <summary>The bits of 32 outputs in two vectors: bit j is [low[j] &gt; 0], bit 16 + j [high[j] &gt; 0].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Of(Vector512<float> low, Vector512<float> high) =>
        (int)(Vector512.GreaterThan(low, Vector512<float>.Zero).ExtractMostSignificantBits()
            | Vector512.GreaterThan(high, Vector512<float>.Zero).ExtractMostSignificantBits() << 16);

    /// <summary>
    /// dZ = dY ⊙ the bits over <paramref name="outputs"/> outputs (a multiple of 32), in place, 8 floats a vector: dY where
    /// the bit is set, +0 where it is clear (<see cref="Mask"/>'s values). The AVX2 stems' backward makes dZ so before
    /// its weight gradient, reading 1/32 of what <see cref="ActivationKernels.ReluMask"/> reads of y.
    /// </summary>
    public static void MaskInPlace(float* dZ, int* bits, long outputs)
    {
        Vector256<int> lanes = Vector256.Create(1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7);
        for (long o = 0; o < outputs; o += 32, bits++)
        {
            int word = *bits;
            for (int q = 0; q < 4; q++) // vector q tests bits 8q..8q + 7
            {
                Vector256<int> set = Vector256.Create(word >> (8 * q)) & lanes;
                float* at = dZ + o + 8 * q;
                Vector256.ConditionalSelect(Vector256.Equals(set, Vector256<int>.Zero).AsSingle(), Vector256<float>.Zero, Vector256.Load(at)).Store(at);
            }
        }
    }

    /// <summary>
    /// dZ[0..32) = dY[0..32) ⊙ the bits, as two vectors of 16: dY[j] where bit j is set, +0 where it is clear.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mask(float* dY, int bits, out Vector512<float> low, out Vector512<float> high)
    {
        // Lane j of the low half tests bit j, lane j of the high half bit 16 + j.
        Vector512<int> lowBits = Vector512.Create(1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7,
            1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15);
        Vector512<int> highBits = Vector512.Create(1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 23,
            1 << 24, 1 << 25, 1 << 26, 1 << 27, 1 << 28, 1 << 29, 1 << 30, 1 << 31);
        Vector512<int> all = Vector512.Create(bits);
        low = Vector512.ConditionalSelect(Vector512.Equals(all & lowBits, Vector512<int>.Zero).AsSingle(), Vector512<float>.Zero, Vector512.Load(dY));
        high = Vector512.ConditionalSelect(Vector512.Equals(all & highBits, Vector512<int>.Zero).AsSingle(), Vector512<float>.Zero,
            Vector512.Load(dY + 16));
    }
}
