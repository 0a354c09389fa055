namespace NanoNet.Data;

/// <summary>
/// Examples with one row each: one or more input tensors (N, ...) and one or more target tensors
/// (N, ...), all with the same N. A model with several inputs (text and numeric features) or several
/// outputs reads them in order. For classification the targets are class ids stored as floats, shape (N).
/// </summary>
public sealed class Dataset
{
    private readonly Tensor[] _inputs, _targets;

    /// <summary>Pairs features with labels, checking they have the same number of rows.</summary>
    public Dataset(Tensor features, Tensor labels) : this([features], [labels]) { }

    /// <summary>Several inputs and targets (in the order of the model's inputs and outputs), all with the same number of rows.</summary>
    /// <exception cref="ArgumentException">A list is empty, or the row counts differ; the message names the tensor.</exception>
    public Dataset(Tensor[] inputs, Tensor[] targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Length == 0 || targets.Length == 0)
            throw new ArgumentException($"Dataset: needs at least one input and one target tensor, got {inputs.Length} and {targets.Length}.");
        for (int i = 0; i < inputs.Length; i++)
            ArgumentNullException.ThrowIfNull(inputs[i], $"inputs[{i}]");
        for (int i = 0; i < targets.Length; i++)
            ArgumentNullException.ThrowIfNull(targets[i], $"targets[{i}]");
        int rows = inputs[0].Rank == 0 ? -1 : inputs[0].Dim(0);
        foreach ((string what, Tensor t) in inputs.Select((t, i) => ($"input {i}", t)).Concat(targets.Select((t, i) => ($"target {i}", t))))
            if (t.Rank == 0 || t.Dim(0) != rows)
                throw new ArgumentException(
                    $"Dataset: {what} {Shapes.Format(t.Shape)} does not have the {rows} rows of input 0 {Shapes.Format(inputs[0].Shape)}" +
                    (inputs.Length == 1 && targets.Length == 1 ? $" (features {Shapes.Format(inputs[0].Shape)} and labels {Shapes.Format(targets[0].Shape)} must have the same number of rows)." : "."));
        _inputs = (Tensor[])inputs.Clone();
        _targets = (Tensor[])targets.Clone();
    }

    /// <summary>The input tensors, in the model's input order.</summary>
    public IReadOnlyList<Tensor> Inputs => _inputs;

    /// <summary>The target tensors, in the model's output order.</summary>
    public IReadOnlyList<Tensor> Targets => _targets;

    /// <summary>The (first) input, one example per row.</summary>
    public Tensor Features => _inputs[0];

    /// <summary>The (first) target, one example per row.</summary>
    public Tensor Labels => _targets[0];

    /// <summary>Number of examples.</summary>
    public int Count => _inputs[0].Dim(0);

    /// <summary>
    /// Optional per-example weights (N), Keras's <c>sample_weight</c>: each example's loss is multiplied by
    /// its weight before the batch's losses are summed and divided by the batch size. Null = all 1. Kept by
    /// <see cref="Take"/>, <see cref="Slice"/>, <see cref="Gather"/> and the mini-batch loader.
    /// </summary>
    /// <exception cref="ArgumentException">Not one finite, non-negative weight per example.</exception>
    public Tensor? SampleWeights
    {
        get => _sampleWeights;
        init
        {
            if (value is not null)
            {
                if (value.Length != Count || value.Rank != 1)
                    throw new ArgumentException($"Dataset: sample weights {Shapes.Format(value.Shape)} must be one weight per example, shape ({Count}).");
                ReadOnlySpan<float> weights = value.Span;
                for (int i = 0; i < weights.Length; i++)
                    if (!(weights[i] >= 0f) || float.IsInfinity(weights[i]))
                        throw new ArgumentException($"Dataset: sample weight {weights[i]} of {RowName(i)} is not a finite non-negative number.");
            }
            _sampleWeights = value;
        }
    }

    private Tensor? _sampleWeights;

    /// <summary>
    /// Optional: where row i came from, e.g. "train-labels-idx1-ubyte.gz: record 17", for error messages about
    /// a row (such as a bad label found by <c>Fit</c>). Set by the loaders that know it; kept by
    /// <see cref="Take"/>, <see cref="Slice"/> and <see cref="Gather"/>.
    /// </summary>
    public Func<int, string>? DescribeRow { get; init; }

    /// <summary>"row i", followed by where it came from when <see cref="DescribeRow"/> knows it.</summary>
    public string RowName(int row) => DescribeRow is { } describe ? $"row {row} ({describe(row)})" : $"row {row}";

    /// <summary>The first <paramref name="count"/> examples, as views (no copy).</summary>
    public Dataset Take(int count) => Slice(0, Math.Min(count, Count));

    /// <summary>Examples [start, start+count), as views (no copy).</summary>
    public Dataset Slice(int start, int count) =>
        new([.. _inputs.Select(t => t.SliceRows(start, count))], [.. _targets.Select(t => t.SliceRows(start, count))])
        {
            DescribeRow = DescribeRow is { } describe ? row => describe(start + row) : null,
            SampleWeights = _sampleWeights?.SliceRows(start, count),
        };

    /// <summary>A new dataset holding copies of the given rows, in order.</summary>
    public Dataset Gather(ReadOnlySpan<int> indices)
    {
        var batch = NewBatch(indices.Length);
        CopyRows(indices, batch);
        if (DescribeRow is not { } describe)
            return batch;
        int[] source = indices.ToArray();
        return new Dataset(batch._inputs, batch._targets) { DescribeRow = row => describe(source[row]), SampleWeights = batch._sampleWeights };
    }

    /// <summary>An empty dataset of <paramref name="rows"/> rows with this one's per-example shapes (a reusable batch buffer).</summary>
    internal Dataset NewBatch(int rows) =>
        new([.. _inputs.Select(t => NewRows(t, rows))], [.. _targets.Select(t => NewRows(t, rows))])
        {
            SampleWeights = _sampleWeights is null ? null : NewRows(_sampleWeights, rows),
        };

    /// <summary>Copies the given rows of every tensor into <paramref name="destination"/>'s rows 0, 1, ...</summary>
    internal void CopyRows(ReadOnlySpan<int> rows, Dataset destination)
    {
        for (int i = 0; i < _inputs.Length; i++)
            RowGather.Copy(_inputs[i], rows, destination._inputs[i]);
        for (int i = 0; i < _targets.Length; i++)
            RowGather.Copy(_targets[i], rows, destination._targets[i]);
        if (_sampleWeights is not null && destination._sampleWeights is not null)
            RowGather.Copy(_sampleWeights, rows, destination._sampleWeights);
    }

    internal static Tensor NewRows(Tensor like, int rows)
    {
        int[] shape = like.Shape.ToArray();
        shape[0] = rows;
        return Tensor.Zeros(shape);
    }
}

/// <summary>Copies whole rows (examples) of a tensor by index.</summary>
internal static class RowGather
{
    /// <summary>destination row i = source row rows[i].</summary>
    public static void Copy(Tensor source, ReadOnlySpan<int> rows, Tensor destination)
    {
        int rowLength = source.Dim(0) == 0 ? 0 : source.Length / source.Dim(0);
        Span<float> src = source.Span, dst = destination.Span;
        for (int i = 0; i < rows.Length; i++)
            src.Slice(rows[i] * rowLength, rowLength).CopyTo(dst.Slice(i * rowLength, rowLength));
    }
}
