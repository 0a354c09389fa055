namespace NanoNet.Kernels;

/// <summary>
/// Numbers the distinct ids of a batch: the work a lookup followed by a linear map needs only once per distinct id
/// (see <see cref="LstmInference.ForwardOnEmbedding"/>).
/// </summary>
/// <remarks>
/// <para>Shape legend: P = positions (N·T ids), V = vocabulary size, K = distinct ids (K ≤ min(P, V)). One pass over the
/// positions with a V-entry table of slots: an id's first position gives it the next slot, the later ones read it.
/// Slots follow first occurrence, so they depend only on the ids, never on the thread count.</para>
/// <para>The table is never cleared (the sparse-set trick of Briggs and Torczon, 1993): an entry is believed only when
/// it names a slot already given out whose id is this one, <c>slotOfId[id] &lt; K</c> and <c>distinct[slotOfId[id]] == id</c>,
/// so whatever an entry held before (an earlier batch's slot, any garbage) cannot be mistaken for this batch's. The work
/// is O(P) whatever V is: clearing the table cost a pass over V ints every step (IMDB's 20,000: 80 KB, on the caller
/// before the projection's region; a million-word vocabulary would have cleared 4 MB a step).</para>
/// </remarks>
internal static class DistinctIds
{
    /// <summary>
    /// Fills <paramref name="slotOfPosition"/> (P) with each position's slot and <paramref name="distinct"/> (first K
    /// entries) with the id of each slot; returns K. <paramref name="slotOfId"/> (V entries) is scratch, any contents, never cleared.
    /// Ids must be in [0, V) (as <see cref="EmbeddingKernels.ReadIds"/> leaves them).
    /// </summary>
    public static int Number(ReadOnlySpan<int> ids, Span<int> slotOfId, Span<int> slotOfPosition, Span<int> distinct)
    {
        if (slotOfPosition.Length != ids.Length || distinct.Length < Math.Min(ids.Length, slotOfId.Length))
            throw new ArgumentException($"DistinctIds: {ids.Length} positions need as many slots and up to {Math.Min(ids.Length, slotOfId.Length)} distinct entries.");
        int count = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            ref int slot = ref slotOfId[id];
            if ((uint)slot >= (uint)count || distinct[slot] != id) // not given out in this batch: whatever it held is stale
            {
                slot = count;
                distinct[count++] = id;
            }
            slotOfPosition[i] = slot;
        }
        return count;
    }
}
