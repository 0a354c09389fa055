namespace NanoNet.Memory;

/// <summary>
/// The kernels' large scratch buffers (GEMM packing panels, a convolution chunk's im2col matrix), shared
/// by every thread instead of kept per thread: their number is bounded by how many kernel workers run
/// at once, not by how many threads (thread-pool threads included) ever ran one, and <see cref="Trim"/>
/// gives them all back.
/// </summary>
/// <remarks>
/// A kernel worker rents a buffer when it starts its share of a region and returns it when done. The
/// free list is a short list under a lock: renting allocates nothing once warm and costs one
/// uncontended lock per worker per kernel call. Buffers are pinned (the GEMM takes raw pointers into
/// them). <c>Fit</c> trims when it returns.
/// </remarks>
public static class ScratchBuffers
{
    private static readonly List<float[]> s_free = [];
    private static int s_generation;

    /// <summary>
    /// Most idle buffers kept; beyond it, returned buffers are dropped. A worker holds at most a few at once: a
    /// convolution's backward chunk holds up to five (im2col, dcol, the unpooled gradient, and the GEMM's two packing
    /// panels). With four per core, two such workers overflowed the list on every call and the Keras cifar10_cnn step
    /// reallocated about 2 MB of them per step at 2 threads.
    /// </summary>
    private static readonly int s_capacity = 8 * Environment.ProcessorCount;

    /// <summary>The current trim generation, to pass back to <see cref="Return"/>.</summary>
    internal static int Generation => Volatile.Read(ref s_generation);

    /// <summary>A pinned buffer of at least <paramref name="minimumLength"/> floats (contents undefined).</summary>
    internal static float[] Rent(int minimumLength)
    {
        lock (s_free)
        {
            // The smallest idle buffer that is large enough (the list is short).
            int best = -1;
            for (int i = 0; i < s_free.Count; i++)
                if (s_free[i].Length >= minimumLength && (best < 0 || s_free[i].Length < s_free[best].Length))
                    best = i;
            if (best >= 0)
            {
                float[] buffer = s_free[best];
                s_free[best] = s_free[^1];
                s_free.RemoveAt(s_free.Count - 1);
                return buffer;
            }
        }
        return GC.AllocateUninitializedArray<float>(minimumLength, pinned: true);
    }

    /// <summary>
    /// Gives a rented buffer back for reuse; it is dropped instead if a <see cref="Trim"/> happened since
    /// it was rented (<paramref name="generation"/>, read before renting) or the list is full.
    /// </summary>
    internal static void Return(float[] buffer, int generation)
    {
        lock (s_free)
            if (generation == s_generation && s_free.Count < s_capacity)
                s_free.Add(buffer);
    }

    /// <summary>Drops every idle scratch buffer (and those in use, when they come back); kernels allocate new ones on demand.</summary>
    public static void Trim()
    {
        lock (s_free)
        {
            s_free.Clear();
            s_generation++;
        }
    }
}
