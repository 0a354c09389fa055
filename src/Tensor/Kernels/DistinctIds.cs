using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// Numbers the distinct ids of a batch: the work a lookup followed by a linear map needs only once per distinct id
/// (see <see cref="LstmInference.ForwardOnEmbedding"/>).
/// </summary>
/// <remarks>
/// <para>Shape legend: P = positions (N·T ids), V = vocabulary size, K = distinct ids (K ≤ min(P, V)). One pass over the
/// positions with a V-entry table of slots: an id's first position gives it the next slot, the later ones read it.
/// Slots follow first occurrence, so they depend only on the ids, never on the thread count.</para>
/// <para>Clearing the table costs a pass over V ints, so a large table is not cleared: an entry is believed only when
/// it names a slot already given out whose id is this one, <c>slotOfId[id] &lt; K</c> and <c>distinct[slotOfId[id]] == id</c>
/// (the sparse-set check of Briggs and Torczon, 1993), so whatever it held before (an earlier batch's slot, any garbage)
/// cannot be mistaken for this batch's, and its entries are asked for 16 positions ahead. A small table (V ≤ 8·P: IMDB's
/// 20,000 ids for 6,400 positions) is cleared to −1, which marks a new id: the streamed clear also brings its lines into the cache,
/// where the positions' scattered reads then hit. Timed with cold caches at 6,400 frequency-ranked ids (copies of the
/// variants in one process, thirtieth sitting): at V = 20,000 cleared 22–24 µs, not cleared 40 (32 with the prefetch);
/// at V = 1,000,000 cleared 162 µs, not cleared 60–66 (49–56 with the prefetch). `distinct-ids-time` times this one.</para>
/// </remarks>
internal static unsafe class DistinctIds
{
    /// <summary>The table is cleared when it has at most this many entries per position (see the remarks).</summary>
    private const int ClearedTableRatio = 8;

    /// <summary>How many positions ahead a large table's entry is asked for.</summary>
    private const int PrefetchDistance = 16;

    /// <summary>
    /// Fills <paramref name="slotOfPosition"/> (P) with each position's slot and <paramref name="distinct"/> (first K
    /// entries) with the id of each slot; returns K. <paramref name="slotOfId"/> (V entries) is scratch, any contents.
    /// Ids must be in [0, V) (as <see cref="EmbeddingKernels.ReadIds"/> leaves them).
    /// </summary>
    public static int Number(ReadOnlySpan<int> ids, Span<int> slotOfId, Span<int> slotOfPosition, Span<int> distinct)
    {
        if (slotOfPosition.Length != ids.Length || distinct.Length < Math.Min(ids.Length, slotOfId.Length))
            throw new ArgumentException($"DistinctIds: {ids.Length} positions need as many slots and up to {Math.Min(ids.Length, slotOfId.Length)} distinct entries.");
        // See the remarks: a small table is cleared, which also brings it into the cache; a large one is read where it lies.
        bool large = (long)slotOfId.Length > (long)ClearedTableRatio * ids.Length, prefetch = large && Sse.IsSupported;
        if (!large)
            slotOfId.Fill(-1);
        int count = 0;
        fixed (int* table = slotOfId)
            for (int i = 0; i < ids.Length; i++)
            {
                if (prefetch && i + PrefetchDistance < ids.Length)
                    Sse.Prefetch0(table + ids[i + PrefetchDistance]);
                int id = ids[i];
                ref int slot = ref slotOfId[id];
                // Cleared, −1 marks an id not seen yet; else an entry not given out in this batch holds something stale.
                if (large ? (uint)slot >= (uint)count || distinct[slot] != id : slot < 0)
                {
                    slot = count;
                    distinct[count++] = id;
                }
                slotOfPosition[i] = slot;
            }
        return count;
    }
}
