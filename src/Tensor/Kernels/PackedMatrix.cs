using NanoNet.Memory;

namespace NanoNet.Kernels;

/// <summary>
/// A right-hand GEMM operand packed once into the micro-kernel's panel order, for reuse across calls.
/// </summary>
/// <remarks>
/// Layout: the K rows are cut into <see cref="Gemm.KC"/>-deep slabs; slab s starts at
/// s·KC·N′ (N′ = N rounded up to the micro-kernel's NR) and holds N′/NR panels of kc×NR values, the
/// columns beyond N zero-filled — exactly what <see cref="Gemm"/> would pack per call.
/// </remarks>
public sealed class PackedMatrix
{
    internal float[] Data = [];

    /// <summary>Where the panels start in <see cref="Data"/> (a pinned array): on a cache line (<see cref="CacheLineAlignment"/>).</summary>
    internal int Offset;

    /// <summary>Rows of op(B) (the inner dimension of the product).</summary>
    public int K { get; private set; }

    /// <summary>Columns of op(B).</summary>
    public int N { get; private set; }

    internal GemmKernelKind Kind { get; private set; }

    internal static int PaddedColumns(int n, int nr) => (n + nr - 1) / nr * nr;

    /// <summary>
    /// Packs op(B) (K×N; stored N×K when <paramref name="transB"/>), reusing <paramref name="reuse"/>'s
    /// storage when it is large enough (so a training loop packs into the same buffer every step).
    /// </summary>
    public static unsafe PackedMatrix Pack(bool transB, int k, int n, ReadOnlySpan<float> b, int ldb, PackedMatrix? reuse = null)
    {
        if (k < 0 || n < 0)
            throw new ArgumentException($"PackedMatrix: dimensions must be non-negative, got K={k}, N={n}.");
        long needed = k == 0 || n == 0 ? 0 : (long)((transB ? n : k) - 1) * ldb + (transB ? k : n);
        if (b.Length < needed)
            throw new ArgumentException($"PackedMatrix: B is {k}x{n} (ld {ldb}) and needs {needed} elements, but the buffer holds {b.Length}.");
        GemmKernelKind kind = Gemm.BestKernel;
        int nr = GemmMicroKernels.TileSize(kind).Nr;
        int padded = PaddedColumns(n, nr);
        PackedMatrix packed = reuse ?? new PackedMatrix();
        packed.Data = CacheLineAlignment.Pinned(packed.Data, (long)k * padded);
        (packed.K, packed.N, packed.Kind, packed.Offset) = (k, n, kind, CacheLineAlignment.Offset(packed.Data));
        fixed (float* pb = b, data = packed.Data)
        {
            float* dst = data + packed.Offset;
            for (int pc = 0; pc < k; pc += Gemm.KC)
            {
                int kc = Math.Min(Gemm.KC, k - pc);
                GemmPacking.PackB(transB, pb, ldb, pc, kc, 0, n, nr, dst + (long)pc * padded);
            }
        }
        return packed;
    }
}
