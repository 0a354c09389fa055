using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Embedding lookup (gather) and its gradient (scatter-add) on spans.
/// </summary>
/// <remarks>
/// <para>Shape legend: P = number of token positions (e.g. N·T), V = vocabulary size, D = embedding
/// width. ids holds P integer ids, the table is V×D, y and dY are P×D.</para>
/// <para>The backward pass touches only the rows of the ids that occur (sparse accumulation), adds
/// position by position in order (so a repeated token sums its gradients in a fixed order and the
/// result is deterministic), and skips positions whose id equals the masked id.</para>
/// </remarks>
public static class EmbeddingKernels
{
    /// <summary>
    /// Converts float ids to ints, checking each is an integer in [0, vocabularySize).
    /// </summary>
    /// <exception cref="ArgumentException">An id is not an integer or is out of range; the message gives the id, its position and the vocabulary size.</exception>
    public static void ReadIds(ReadOnlySpan<float> source, Span<int> ids, int vocabularySize, int stepsPerRow)
    {
        for (int p = 0; p < source.Length; p++)
        {
            float v = source[p];
            int id = (int)v;
            if (id != v || (uint)id >= (uint)vocabularySize)
            {
                string where = stepsPerRow > 0 ? $"row {p / stepsPerRow}, position {p % stepsPerRow}" : $"position {p}";
                throw new ArgumentException(
                    $"Embedding: token id {v} at {where} is outside the vocabulary: ids must be integers in [0, {vocabularySize}) " +
                    $"for an embedding of {vocabularySize} rows (is the vocabulary larger than the layer's vocabSize?).");
            }
            ids[p] = id;
        }
    }

    /// <summary>y[p, :] = table[ids[p], :].</summary>
    public static void Gather(ReadOnlySpan<int> ids, ReadOnlySpan<float> table, Span<float> y, int dim)
    {
        for (int p = 0; p < ids.Length; p++)
            table.Slice(ids[p] * dim, dim).CopyTo(y.Slice(p * dim, dim));
    }

    /// <summary>
    /// dTable[ids[p], :] += dY[p, :] for every position p in order, except where ids[p] = <paramref name="maskedId"/>
    /// (pass −1 to mask nothing).
    /// </summary>
    public static void ScatterAdd(ReadOnlySpan<int> ids, ReadOnlySpan<float> dY, Span<float> dTable, int dim, int maskedId)
    {
        for (int p = 0; p < ids.Length; p++)
        {
            int id = ids[p];
            if (id == maskedId)
                continue;
            Span<float> row = dTable.Slice(id * dim, dim);
            TensorPrimitives.Add(row, dY.Slice(p * dim, dim), row);
        }
    }
}
