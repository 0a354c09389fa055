namespace NanoNet.Data;

/// <summary>
/// Features and labels with one row per example: Features is (N, ...), Labels is (N, ...).
/// For classification the labels are class ids stored as floats, shape (N).
/// </summary>
public sealed class Dataset
{
    /// <summary>Pairs features with labels, checking they have the same number of rows.</summary>
    public Dataset(Tensor features, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.Rank == 0 || labels.Rank == 0 || features.Dim(0) != labels.Dim(0))
            throw new ArgumentException($"Dataset: features {Shapes.Format(features.Shape)} and labels {Shapes.Format(labels.Shape)} must have the same number of rows.");
        Features = features;
        Labels = labels;
    }

    /// <summary>The inputs, one example per row.</summary>
    public Tensor Features { get; }

    /// <summary>The targets, one example per row.</summary>
    public Tensor Labels { get; }

    /// <summary>Number of examples.</summary>
    public int Count => Features.Dim(0);

    /// <summary>The first <paramref name="count"/> examples, as views (no copy).</summary>
    public Dataset Take(int count) => Slice(0, Math.Min(count, Count));

    /// <summary>Examples [start, start+count), as views (no copy).</summary>
    public Dataset Slice(int start, int count) => new(Features.SliceRows(start, count), Labels.SliceRows(start, count));

    /// <summary>The rows at <paramref name="indices"/>, copied into new tensors.</summary>
    public Dataset Gather(ReadOnlySpan<int> indices)
    {
        var features = NewRows(Features, indices.Length);
        var labels = NewRows(Labels, indices.Length);
        RowGather.Copy(Features, indices, features);
        RowGather.Copy(Labels, indices, labels);
        return new Dataset(features, labels);
    }

    internal static Tensor NewRows(Tensor like, int rows)
    {
        int[] shape = like.Shape.ToArray();
        shape[0] = rows;
        return Tensor.Zeros(shape);
    }
}

/// <summary>Copies selected rows of a tensor into another.</summary>
internal static class RowGather
{
    public static void Copy(Tensor source, ReadOnlySpan<int> rows, Tensor destination)
    {
        int rowLength = source.Dim(0) == 0 ? 0 : source.Length / source.Dim(0);
        Span<float> src = source.Span, dst = destination.Span;
        for (int i = 0; i < rows.Length; i++)
            src.Slice(rows[i] * rowLength, rowLength).CopyTo(dst.Slice(i * rowLength, rowLength));
    }
}
