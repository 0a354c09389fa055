namespace NanoNet.Kernels;

/// <summary>
/// Numbers the distinct ids of a batch: the work a lookup followed by a linear map needs only once per distinct id
/// (see <see cref="LstmInference.ForwardOnEmbedding"/>).
/// </summary>
/// <remarks>
/// Shape legend: P = positions (N·T ids), V = vocabulary size, K = distinct ids (K ≤ min(P, V)). One pass over the
/// positions with a V-entry table of slots: an id's first position gives it the next slot, the later ones read it.
/// Slots follow first occurrence, so they depend only on the ids, never on the thread count.
/// </remarks>
internal static class DistinctIds
{
    /// <summary>
    /// Fills <paramref name="slotOfPosition"/> (P) with each position's slot and <paramref name="distinct"/> (first K
    /// entries) with the id of each slot; returns K. <paramref name="slotOfId"/> (V entries) is scratch, any contents.
    /// Ids must be in [0, V) (as <see cref="EmbeddingKernels.ReadIds"/> leaves them).
    /// </summary>
    public static int Number(ReadOnlySpan<int> ids, Span<int> slotOfId, Span<int> slotOfPosition, Span<int> distinct)
    {
        if (slotOfPosition.Length != ids.Length || distinct.Length < Math.Min(ids.Length, slotOfId.Length))
            throw new ArgumentException($"DistinctIds: {ids.Length} positions need as many slots and up to {Math.Min(ids.Length, slotOfId.Length)} distinct entries.");
        slotOfId.Fill(-1);
        int count = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            ref int slot = ref slotOfId[ids[i]];
            if (slot < 0)
            {
                slot = count;
                distinct[count++] = ids[i];
            }
            slotOfPosition[i] = slot;
        }
        return count;
    }
}
