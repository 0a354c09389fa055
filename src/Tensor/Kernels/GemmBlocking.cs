namespace NanoNet.Kernels;

/// <summary>
/// The GEMM's cache blocks (BLIS names KC, MC, NC), chosen from the core's cache sizes rather than fixed.
/// </summary>
/// <remarks>
/// <para>Shape legend: a K slab of depth KC; an MC×KC block of packed A; a KC×NC slab of packed B; micro-panels of
/// MR×KC (A) and KC×NR (B), with MR×NR the micro-kernel's tile (<see cref="GemmMicroKernels.TileSize"/>).</para>
/// <para>The rules, for the widest tile (NR = 32 floats = 128 bytes per row of a B micro-panel):</para>
/// <list type="bullet">
/// <item>KC: one B micro-panel (KC×32 floats) fills L1d, up to 32 KB (KC = 256). It is reused by every A micro-panel
/// of the MC block; A and C stream past it from L2, which at 16 FMAs per 2.5 cache lines this kernel sustains. The cap
/// is measured: on a 48 KB L1d (Intel Emerald Rapids) a 48 KB panel (KC = 384) left no room for the A micro-panels
/// streaming past it and the kernel fell to 72–76% of the FMA peak in the GEMM's loop order, where KC = 128–256 held
/// 97–100% (<c>kernel-time</c>, benchmarks/README.md, tenth sitting).</item>
/// <item>MC: the packed A block (MC×KC) takes about 3/32 of L2, the rest is left to the B slab.</item>
/// <item>NC: the packed B slab (KC×NC) is about the size of L2.</item>
/// </list>
/// <para>On the 32 KB L1d / 1 MB L2 core these kernels were tuned on (AMD EPYC, Zen 4) the rules give the tuned
/// KC = 256, MC = 96, NC = 1024; on the 48 KB L1d / 2 MB L2 Emerald Rapids core KC = 256, MC = 192, NC = 2048.
/// Every MC is a multiple of every kernel's MR
/// (8, 6, 4: of 24) and every NC of every NR (32, 16, 8, 4: of 32), so all kernels, the 128-bit ones included,
/// run whole tiles inside a block; KC is a multiple of 16 (whole 8×8 packing transposes, aligned panels).</para>
/// <para>Determinism: the blocks are fixed for the process, so the order of every K sum is the same at any
/// thread count. A different machine may block differently, and so round differently in the last bits.</para>
/// </remarks>
internal readonly record struct GemmBlocking(int KC, int MC, int NC)
{
    /// <summary>Least common multiple of every kernel's MR: 8, 6, 4 (x86 and ARM64 128-bit tiles included).</summary>
    public const int MCMultiple = 24;
    /// <summary>Least common multiple of every kernel's NR: 32, 16, 8, 4.</summary>
    public const int NCMultiple = 32;
    private const int KCMultiple = 16;
    private const int WidestPanelRowBytes = 32 * sizeof(float);
    /// <summary>The largest B micro-panel: 32 KB, KC = 256 (see the remarks: a 48 KB panel thrashes a 48 KB L1d).</summary>
    private const int MaxPanelBytes = 32 * 1024;

    /// <summary>
    /// The deepest K that a product whose A is read in place against a single 8×32 B micro-panel (a convolution's im2col
    /// rows against 32 filters, the Keras Dense dX computed as Cᵀ = W·dZᵀ: <c>Gemm.SinglePanelSlab</c>) takes as one slab
    /// instead of KC-deep ones: its B panel (K×32 floats) stays within half of L2 (KC·NC/2 floats) and an edge strip of A
    /// (8×K floats, packed zero-padded) within the packed-A block (MC×KC). 6144 on the 2 MB L2 Intel cores, 3072 on the
    /// 1 MB L2 ones.
    /// </summary>
    /// <remarks>
    /// KC bounds a slab so that a B panel stays in L1 while every A micro-panel of the block streams past it. With A read
    /// in place and one B panel there is nothing to stream past: each row of A is read once, and cutting K only cuts its
    /// rows into pieces read in separate passes and makes every C tile be stored, read back and added once per slab.
    /// Measured on Emerald Rapids, calls alternated in one process (benchmarks/README.md, thirty-sixth sitting): the
    /// Keras dX (K = 512) 7–12% faster whole, a 32-channel 3×3 im2col product (K = 289) 8–19%, K = 1152 to 4608 13–32%,
    /// with the panel from L2.
    /// </remarks>
    public int DirectASlabLimit => Math.Min(KC * NC / 2 / 32, MC * KC / 8);

    /// <summary>The blocks for this machine's caches, fixed at start-up.</summary>
    public static readonly GemmBlocking ThisMachine = For(CpuCaches.OfThisMachine);

    /// <summary>The blocks for a core with the given caches (clamped to sizes the kernels handle well on any cache).</summary>
    public static GemmBlocking For(CpuCaches caches)
    {
        int kc = RoundDown(Math.Clamp(Math.Min(caches.L1Data, MaxPanelBytes) / WidestPanelRowBytes, 128, 512), KCMultiple);
        int mc = RoundDown(Math.Clamp(caches.L2 * 3 / 32 / (kc * sizeof(float)), MCMultiple * 2, 480), MCMultiple);
        int nc = RoundDown(Math.Clamp(caches.L2 / (kc * sizeof(float)), 256, 4096), NCMultiple);
        return new GemmBlocking(kc, mc, nc);
    }

    private static int RoundDown(long value, int multiple) => (int)(value / multiple * multiple);
}
