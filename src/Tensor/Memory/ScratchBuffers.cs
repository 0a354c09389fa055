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

    // How many buffers are rented now, and the most ever rented at once, since the last Trim. The free list keeps
    // at most that many idle buffers: more could never all be in use together, fewer would make every step allocate
    // again what it returned (a fixed cap did: two workers of the Keras cifar10_cnn model hold eight buffers at once).
    private static int s_inUse, s_mostInUse;

    /// <summary>The current trim generation, to pass back to <see cref="Return"/>.</summary>
    internal static int Generation => Volatile.Read(ref s_generation);

    /// <summary>
    /// A pinned buffer of at least <paramref name="minimumLength"/> floats (contents undefined), with
    /// <see cref="CacheLineAlignment.SlackFloats"/> more, so a kernel may start it on a cache line
    /// (<see cref="CacheLineAlignment.Align"/>).
    /// </summary>
    internal static float[] Rent(int minimumLength)
    {
        minimumLength += CacheLineAlignment.SlackFloats;
        lock (s_free)
        {
            s_mostInUse = Math.Max(s_mostInUse, ++s_inUse);
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
    /// Gives a rented buffer back for reuse; it is dropped instead if a <see cref="Trim"/> happened since it was
    /// rented (<paramref name="generation"/>, read before renting).
    /// </summary>
    /// <remarks>
    /// When the free list already holds as many buffers as were ever in use at once, the smaller of this buffer and
    /// the smallest idle one is dropped. Keeping the first ones returned instead would let small buffers of an
    /// earlier model fill the list for good, and a larger model would then allocate (and drop) its large buffers
    /// at every step: 16 MB a step for the Keras cifar10_cnn model trained after the CIFAR-10 seed model.
    /// </remarks>
    internal static void Return(float[] buffer, int generation)
    {
        lock (s_free)
        {
            if (generation != s_generation)
                return;
            s_inUse--;
            if (s_free.Count < s_mostInUse)
            {
                s_free.Add(buffer);
                return;
            }
            int smallest = 0;
            for (int i = 1; i < s_free.Count; i++)
                if (s_free[i].Length < s_free[smallest].Length)
                    smallest = i;
            if (s_free.Count > 0 && s_free[smallest].Length < buffer.Length)
                s_free[smallest] = buffer;
        }
    }

    /// <summary>Drops every idle scratch buffer (and those in use, when they come back); kernels allocate new ones on demand.</summary>
    public static void Trim()
    {
        lock (s_free)
        {
            s_free.Clear();
            s_generation++;
            s_inUse = s_mostInUse = 0;
        }
    }

    /// <summary>Number of idle buffers held (for tests).</summary>
    internal static int IdleCount
    {
        get
        {
            lock (s_free)
                return s_free.Count;
        }
    }
}
