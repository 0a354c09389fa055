using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// Dropout's keep-mask kept as one bit per element, forward and backward: the forward draws the keep decisions,
/// multiplies x by the scaled mask in registers and keeps only the bits; the backward rebuilds the scaled mask from the
/// bits in registers. A float mask would be 32 times larger: written by the forward (1 MB at the Keras model's first
/// dropout) and read back by the backward, for one bit of information per element.
/// </summary>
/// <remarks>
/// <para>Shape legend: x, y, dY and dX are flat, n elements each; bits is ⌈n/32⌉ ints; bit j of bits[k] is set when
/// element 32k + j is kept. The scaled mask m is scale = 1/(1 − rate) where the bit is set, 0 where it is clear.</para>
/// <para>Forward: element i is kept when its 16 random bits h_i (the low half of words[i/2] for an even i, the high half
/// for an odd one: <see cref="UniformConversion.Half"/>) are at least the threshold
/// (<see cref="UniformConversion.KeepThreshold"/>); y_i = x_i · m_i. Backward: dX = dY ⊙ m, or dX += dY ⊙ m
/// (a product, then a sum: two roundings).</para>
/// <para>Bitwise: each element is the same one product (and sum) with the same m as the float mask gave, so NaN and ∞ in
/// x or dY still give NaN where the element is dropped (x·0), as PyTorch's and Keras's x·mask do. On a little-endian
/// machine the 16-bit halves of the words in memory order are h_0, h_1, h_2, ...: element order, so one unsigned 16-bit
/// compare per lane gives the keep decisions of a vector of elements, and its lanes' top bits are the mask's bits.</para>
/// <para>The backward runs on every worker above <see cref="ParallelThreshold"/> elements, in pieces cut on 64-element
/// boundaries (whole words of bits, whole vectors of every width): the bits cannot depend on the number of workers. On
/// one thread the Keras model's two large dropouts were 1.2% of its 2-thread step with the other core idle
/// (benchmarks/README.md, twenty-ninth sitting).</para>
/// </remarks>
internal static unsafe class DropoutBits
{
    /// <summary>Below this many elements one worker runs the backward (a region's wake-up costs about what a second core saves).</summary>
    internal const int ParallelThreshold = 1 << 15;

    /// <summary>Ints of bits for <paramref name="elements"/> elements.</summary>
    public static int Length(int elements) => (int)(((long)elements + 31) / 32);

    // ---- forward ----------------------------------------------------------------------------------------

    /// <summary>
    /// Elements [0, count) of a piece that starts on a multiple of 32: y = x ⊙ m and the keep bits, from ⌈count/2⌉ random
    /// <paramref name="words"/> (two elements each).
    /// </summary>
    public static void Forward(ReadOnlySpan<uint> words, uint threshold, float scale, float* x, float* y, int* bits, int count)
    {
        if (words.Length < (count + 1) / 2)
            throw new ArgumentException($"{count} dropout elements need {(count + 1) / 2} random values, got {words.Length}.", nameof(words));
        int i = 0;
        // A threshold of 2^16 (a rate within 2^−17 of 1) keeps nothing and does not fit a 16-bit lane: the scalar rule.
        if (threshold <= ushort.MaxValue && BitConverter.IsLittleEndian)
        {
            ref ushort halves = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<uint, ushort>(words));
            if (Vector512.IsHardwareAccelerated)
            {
                var thresholds = Vector512.Create((ushort)threshold);
                var scales = Vector512.Create(scale).AsInt32();
                for (; i <= count - 32; i += 32)
                {
                    Vector512<ushort> keep = Vector512.GreaterThanOrEqual(Vector512.LoadUnsafe(ref halves, (nuint)i), thresholds);
                    bits[i / 32] = (int)keep.ExtractMostSignificantBits();
                    // A kept lane is all ones, so (lane widened with its sign) & scale is scale there and +0 elsewhere.
                    (Vector512<int> low, Vector512<int> high) = Vector512.Widen(keep.AsInt16());
                    (Vector512.Load(x + i) * (low & scales).AsSingle()).Store(y + i);
                    (Vector512.Load(x + i + 16) * (high & scales).AsSingle()).Store(y + i + 16);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var thresholds = Vector256.Create((ushort)threshold);
                var scales = Vector256.Create(scale).AsInt32();
                for (; i <= count - 32; i += 32)
                {
                    int word = 0;
                    for (int q = 0; q < 2; q++) // 16 elements a compare
                    {
                        int at = i + 16 * q;
                        Vector256<ushort> keep = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref halves, (nuint)at), thresholds);
                        word |= (int)keep.ExtractMostSignificantBits() << (16 * q);
                        (Vector256<int> low, Vector256<int> high) = Vector256.Widen(keep.AsInt16());
                        (Vector256.Load(x + at) * (low & scales).AsSingle()).Store(y + at);
                        (Vector256.Load(x + at + 8) * (high & scales).AsSingle()).Store(y + at + 8);
                    }
                    bits[i / 32] = word;
                }
            }
            else if (Vector128.IsHardwareAccelerated)
            {
                var thresholds = Vector128.Create((ushort)threshold);
                var scales = Vector128.Create(scale).AsInt32();
                for (; i <= count - 32; i += 32)
                {
                    int word = 0;
                    for (int q = 0; q < 4; q++) // 8 elements a compare
                    {
                        int at = i + 8 * q;
                        Vector128<ushort> keep = Vector128.GreaterThanOrEqual(Vector128.LoadUnsafe(ref halves, (nuint)at), thresholds);
                        word |= (int)keep.ExtractMostSignificantBits() << (8 * q);
                        (Vector128<int> low, Vector128<int> high) = Vector128.Widen(keep.AsInt16());
                        (Vector128.Load(x + at) * (low & scales).AsSingle()).Store(y + at);
                        (Vector128.Load(x + at + 4) * (high & scales).AsSingle()).Store(y + at + 4);
                    }
                    bits[i / 32] = word;
                }
            }
        }
        ForwardScalar(words, threshold, scale, x, y, bits, i, count);
    }

    /// <summary>The scalar rule for elements [from, count) (from a multiple of 32): the reference twin, and the tail.</summary>
    internal static void ForwardScalar(ReadOnlySpan<uint> words, uint threshold, float scale, float* x, float* y, int* bits, int from, int count)
    {
        for (int start = from; start < count; start += 32)
        {
            int word = 0, end = Math.Min(start + 32, count);
            for (int i = start; i < end; i++)
            {
                bool keep = UniformConversion.Half(words, i) >= threshold;
                word |= (keep ? 1 : 0) << (i - start);
                y[i] = x[i] * (keep ? scale : 0f);
            }
            bits[start / 32] = word;
        }
    }

    // ---- backward ---------------------------------------------------------------------------------------

    /// <summary>dX = dY ⊙ m (<paramref name="overwrite"/>: a new gradient is stored) or dX += dY ⊙ m.</summary>
    public static void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<int> bits, float scale, Span<float> dX, bool overwrite)
    {
        if (dY.Length != dX.Length || bits.Length < Length(dX.Length))
            throw new ArgumentException($"Dropout's backward: dY has {dY.Length} elements, dX {dX.Length}, the keep bits {bits.Length} ints; "
                + $"dY and dX must be equal and the bits at least {Length(dX.Length)}.");
        int workers = dX.Length < ParallelThreshold ? 1 : Parallelism.CurrentMaxThreads;
        fixed (float* pdy = dY, pdx = dX)
        fixed (int* pbits = bits)
        {
            if (workers <= 1)
            {
                BackwardPiece(pdy, pbits, scale, pdx, dX.Length, overwrite);
                return;
            }
            var job = t_job ??= new BackwardJob();
            job.DY = pdy;
            job.Bits = pbits;
            job.DX = pdx;
            (job.Scale, job.Length, job.Overwrite) = (scale, dX.Length, overwrite);
            Parallelism.Run(job, workers);
            job.DY = job.DX = null;
            job.Bits = null;
        }
    }

    /// <summary>Elements [0, count) of a piece that starts on a multiple of 32 (bits points at its first word).</summary>
    private static void BackwardPiece(float* dY, int* bits, float scale, float* dX, int count, bool overwrite)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Lane j of the first vector tests bit j, of the second bit 16 + j.
            Vector512<int> lowBits = Vector512.Create(1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7,
                1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15);
            Vector512<int> highBits = lowBits << 16;
            Vector512<float> scales = Vector512.Create(scale);
            for (; i <= count - 32; i += 32)
            {
                Vector512<int> word = Vector512.Create(bits[i / 32]);
                Store512(dY + i, dX + i, Vector512.ConditionalSelect(Vector512.Equals(word & lowBits, Vector512<int>.Zero).AsSingle(), Vector512<float>.Zero, scales), overwrite);
                Store512(dY + i + 16, dX + i + 16, Vector512.ConditionalSelect(Vector512.Equals(word & highBits, Vector512<int>.Zero).AsSingle(), Vector512<float>.Zero, scales), overwrite);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<int> laneBits = Vector256.Create(1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7);
            Vector256<float> scales = Vector256.Create(scale);
            for (; i <= count - 32; i += 32)
            {
                int word = bits[i / 32];
                for (int q = 0; q < 4; q++) // vector q tests bits 8q … 8q + 7
                {
                    Vector256<int> set = Vector256.Create(word >> (8 * q)) & laneBits;
                    Vector256<float> m = Vector256.ConditionalSelect(Vector256.Equals(set, Vector256<int>.Zero).AsSingle(), Vector256<float>.Zero, scales);
                    float* dy = dY + i + 8 * q, dx = dX + i + 8 * q;
                    (overwrite ? Vector256.Load(dy) * m : Vector256.Load(dy) * m + Vector256.Load(dx)).Store(dx);
                }
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<int> laneBits = Vector128.Create(1 << 0, 1 << 1, 1 << 2, 1 << 3);
            Vector128<float> scales = Vector128.Create(scale);
            for (; i <= count - 32; i += 32)
            {
                int word = bits[i / 32];
                for (int q = 0; q < 8; q++) // vector q tests bits 4q … 4q + 3
                {
                    Vector128<int> set = Vector128.Create(word >> (4 * q)) & laneBits;
                    Vector128<float> m = Vector128.ConditionalSelect(Vector128.Equals(set, Vector128<int>.Zero).AsSingle(), Vector128<float>.Zero, scales);
                    float* dy = dY + i + 4 * q, dx = dX + i + 4 * q;
                    (overwrite ? Vector128.Load(dy) * m : Vector128.Load(dy) * m + Vector128.Load(dx)).Store(dx);
                }
            }
        }
        BackwardScalar(dY, bits, scale, dX, i, count, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* dY, float* dX, Vector512<float> m, bool overwrite) =>
        (overwrite ? Vector512.Load(dY) * m : Vector512.Load(dY) * m + Vector512.Load(dX)).Store(dX);

    /// <summary>The scalar rule for elements [from, count): the reference twin, and the tail.</summary>
    internal static void BackwardScalar(float* dY, int* bits, float scale, float* dX, int from, int count, bool overwrite)
    {
        for (int i = from; i < count; i++)
        {
            float product = dY[i] * ((bits[i / 32] >> (i % 32) & 1) != 0 ? scale : 0f);
            dX[i] = overwrite ? product : product + dX[i];
        }
    }

    [ThreadStatic] private static BackwardJob? t_job;

    /// <summary>Worker w: elements [n·w/W, n·(w+1)/W), each end rounded down to a multiple of 64 (the last worker's to n).</summary>
    private sealed class BackwardJob : ParallelJob
    {
        public float* DY, DX;
        public int* Bits;
        public float Scale;
        public int Length;
        public bool Overwrite;

        public override void RunWorker(int worker, int workerCount)
        {
            int start = Boundary(worker, workerCount), end = worker == workerCount - 1 ? Length : Boundary(worker + 1, workerCount);
            if (end > start)
                BackwardPiece(DY + start, Bits + start / 32, Scale, DX + start, end - start, Overwrite);
        }

        private int Boundary(int worker, int workers) => (int)((long)Length * worker / workers) & ~63;
    }
}
