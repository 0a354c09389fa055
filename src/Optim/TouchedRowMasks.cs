using NanoNet.Autograd;

namespace NanoNet.Optim;

/// <summary>
/// The rows a lazy step (<see cref="Optimizer.Lazy"/>) updates under a <see cref="Optimizer.GradientReducer"/>:
/// those <em>any</em> process touched. Each process writes a mask, 1 for a row its gradient touched and 0 for one it
/// did not, sums the masks across the processes (<see cref="IGradientReducer.SumTouchedRows"/>), and updates the
/// rows whose sum is positive. Every process then visits the same rows, so their weights stay identical.
/// </summary>
/// <remarks>
/// <para>
/// Why not read the rows from the reduced gradient: the gradients of a row may cancel to exactly zero across
/// processes, and a touched row must still take its step (its moments decay). Sums of 0 and 1 in float32 are exact
/// up to 2²⁴ processes.
/// </para>
/// <para>
/// Shape legend: parameter p of shape R_p×… gets R_p mask values (a scalar counts as one row), laid end to end in
/// the order of the step's parameter list, which every process passes the same. A parameter whose gradient may be
/// non-zero anywhere on this process (no <see cref="Tensor.TouchedGradientRows"/>: a dense parameter) marks every
/// row, so it is updated densely everywhere. The buffers are reused from step to step.
/// </para>
/// </remarks>
internal sealed class TouchedRowMasks
{
    private float[] _mask = [];
    private int[] _offsets = [], _rows = [];

    /// <summary>Records this process's touched rows of each parameter (before the reduction drops the row hints).</summary>
    public void Record(List<Tensor> parameters)
    {
        if (_offsets.Length < parameters.Count)
        {
            _offsets = new int[parameters.Count];
            _rows = new int[parameters.Count];
        }
        int total = 0;
        for (int p = 0; p < parameters.Count; p++)
        {
            ReadOnlySpan<int> shape = parameters[p].Shape;
            _offsets[p] = total;
            _rows[p] = shape.Length == 0 ? 1 : shape[0];
            total += _rows[p];
        }
        if (_mask.Length != total)
            _mask = new float[total];

        for (int p = 0; p < parameters.Count; p++)
        {
            Span<float> mask = _mask.AsSpan(_offsets[p], _rows[p]);
            if (parameters[p].TouchedGradientRows is not { } touched)
            {
                mask.Fill(1f);
                continue;
            }
            mask.Clear();
            for (int row = 0; touched.NextRun(row, out int start, out int count); row = start + count)
                mask.Slice(start, count).Fill(1f);
        }
    }

    /// <summary>Replaces every mask value with its sum over the processes: positive where any process touched the row.</summary>
    public void CombineAcrossProcesses(IGradientReducer reducer) => reducer.SumTouchedRows(_mask);

    /// <summary>The touched rows of parameter number <paramref name="parameter"/> of the recorded list.</summary>
    public Runs For(int parameter) => new(_mask.AsSpan(_offsets[parameter], _rows[parameter]));

    /// <summary>
    /// The runs of consecutive touched rows of one parameter, from a row mask (positive = touched) or from an
    /// embedding's <see cref="GradientRows"/> (one process, no reduction).
    /// </summary>
    public readonly ref struct Runs
    {
        private readonly ReadOnlySpan<float> _mask;
        private readonly GradientRows? _rows;

        /// <summary>The rows whose mask value is positive.</summary>
        public Runs(ReadOnlySpan<float> mask)
        {
            _mask = mask;
            RowCount = mask.Length;
        }

        /// <summary>The rows an embedding's backward wrote on this process.</summary>
        public Runs(GradientRows rows)
        {
            _rows = rows;
            RowCount = rows.RowCount;
        }

        /// <summary>R: rows of the parameter.</summary>
        public int RowCount { get; }

        /// <summary>
        /// The next run of touched rows at or after <paramref name="from"/>: false when there is none. Start with
        /// <paramref name="from"/> = 0 and pass back <c>start + length</c>.
        /// </summary>
        public bool NextRun(int from, out int start, out int length)
        {
            if (_rows is not null)
                return _rows.NextRun(from, out start, out length);
            start = from;
            while (start < _mask.Length && !(_mask[start] > 0f))
                start++;
            int end = start;
            while (end < _mask.Length && _mask[end] > 0f)
                end++;
            length = end - start;
            return length > 0;
        }
    }
}
