namespace NanoNet.Memory;

/// <summary>
/// Where a kernel's buffer starts: on a 64-byte cache line. A 512-bit load is 64 bytes, so from any other address it
/// spans two lines and costs two L1 accesses; .NET aligns array data only to 8 bytes, so a packed GEMM panel or a
/// Winograd workspace read 64 bytes at a time straight from its array splits almost every load. Measured on Emerald
/// Rapids (benchmarks/README.md, fifteenth sitting): the Winograd forward of the Keras layers 1.2–1.3x faster aligned.
/// </summary>
/// <remarks>
/// Buffers get <see cref="SlackFloats"/> more floats than they need and the kernel starts at <see cref="Align"/> of the
/// pinned pointer. A buffer that is packed once and read through a pointer later is a pinned array (<see cref="Pinned"/>:
/// its aligned start then stays put), and its packing and its readers take the one <see cref="Offset"/> the packing
/// computed. Tensors start on a cache line of their array too (<see cref="Tensor.OnCacheLine"/>): an index, so a move
/// by the garbage collector costs the alignment, never the values. Alignment changes no value: the same arithmetic on
/// the same numbers at another address.
/// </remarks>
internal static unsafe class CacheLineAlignment
{
    /// <summary>A cache line, in bytes.</summary>
    public const int Bytes = 64;

    /// <summary>Floats a buffer needs beyond its length so that a start on a cache line still leaves the length.</summary>
    public const int SlackFloats = Bytes / sizeof(float);

    /// <summary>Off only in benchmarks, to measure what the alignment gives.</summary>
    internal static bool Enabled = true;

    /// <summary><paramref name="p"/> rounded up to the next cache line (itself when on one, or when alignment is off).</summary>
    public static float* Align(float* p) => Enabled ? (float*)(((nint)p + (Bytes - 1)) & ~(nint)(Bytes - 1)) : p;

    /// <summary>
    /// The floats to skip from the start of <paramref name="array"/> for its data to start on a cache line where the array
    /// lies now (0 when alignment is off). A pinned array never moves, so the start stays aligned; another may be moved
    /// by the garbage collector (arrays under 85 KB), after which the same index is still valid, only no longer aligned.
    /// </summary>
    public static int Offset(float[] array)
    {
        fixed (float* p = array)
            return (int)(Align(p) - p);
    }

    /// <summary>
    /// <paramref name="buffer"/> when it holds <paramref name="length"/> floats from its first cache line, else a new
    /// pinned, zeroed array that does (<see cref="SlackFloats"/> longer): a kernel's reused buffer that only grows. The
    /// caller starts at <see cref="Offset"/> of the result.
    /// </summary>
    public static float[] Pinned(float[]? buffer, long length)
    {
        long needed = length + SlackFloats;
        return buffer != null && buffer.Length >= needed ? buffer : GC.AllocateArray<float>(checked((int)needed), pinned: true);
    }
}
