using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// Asks for the cache lines of a short range of floats ahead of its use: for passes that jump between rows scattered over
/// a large table (an embedding's gather and scatter, an optimizer's touched rows, clearing them), where each row would
/// otherwise cost a full memory latency, one after the other.
/// </summary>
/// <remarks>
/// x86 only (<c>prefetcht0</c>); elsewhere, and for ranges longer than <see cref="MaxLength"/> floats (which stream, and the
/// hardware prefetcher follows them), it does nothing. A prefetch changes no value: callers keep their results exactly.
/// </remarks>
public static unsafe class CacheLines
{
    /// <summary>The longest range prefetched line by line (4 KB).</summary>
    public const int MaxLength = 1024;

    /// <summary>Requests the lines of <paramref name="values"/>[<paramref name="offset"/> .. + <paramref name="length"/>).</summary>
    public static void Prefetch(ReadOnlySpan<float> values, int offset, int length)
    {
        if (!Sse.IsSupported || length <= 0 || length > MaxLength)
            return;
        fixed (float* start = &values[offset])
            for (int i = 0; i < length; i += 64 / sizeof(float))
                Sse.Prefetch0(start + i);
    }
}
