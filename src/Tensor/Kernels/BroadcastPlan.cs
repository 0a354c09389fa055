namespace NanoNet.Kernels;

/// <summary>
/// How to walk a broadcast: the output shape with adjacent axes merged wherever every input
/// broadcasts the same way, and each input's element stride on every merged axis (0 where it is stretched).
/// </summary>
/// <remarks>
/// <para>Shape legend: out = output shape (row-major, contiguous); input k = a shape that broadcasts to out;
/// dims = the merged ("collapsed") axes, outermost first; stride[k][j] = how far input k's flat index
/// moves when index j of dims grows by one.</para>
/// <para>
/// Merging: axes of size 1 in the output are dropped (nobody moves along them); two neighbouring axes
/// merge when each input is either stretched on both or real on both. (64, 128, 256) + (256) becomes
/// dims (8192, 256) with strides (256, 1) and (0, 1); (64, 128, 256) + (64, 128, 1) becomes (8192, 256)
/// with (256, 1) and (1, 0); identical shapes become a single axis. The last merged axis is the
/// contiguous "inner run" the kernels hand to a vectorised span primitive; every input's stride on it is 1
/// (real) or 0 (stretched: a single value repeated along the run).
/// </para>
/// </remarks>
internal readonly struct BroadcastPlan
{
    /// <summary>Most inputs a plan can describe (<c>Where</c> has three).</summary>
    public const int MaxInputs = 3;

    /// <summary>Merged axes a plan keeps inline; a plan with more (rank-9+ tensors broadcast in alternating ways) spills to the heap.</summary>
    private const int InlineAxes = 8;

    /// <summary>
    /// The plan's numbers in one block: the Rank merged sizes, then Rank strides per input
    /// (input k's stride on axis j at Rank + k·Rank + j). Inline, so making a plan allocates nothing;
    /// the plan is a value the kernels pass by reference and a parallel job copies once.
    /// </summary>
    [System.Runtime.CompilerServices.InlineArray((1 + MaxInputs) * InlineAxes)]
    private struct InlineValues
    {
        private int _first;
    }

    private readonly InlineValues _inline;
    private readonly int[]? _spilled; // used instead of _inline when Rank > InlineAxes

    private BroadcastPlan(ReadOnlySpan<int> values, int rank, int inputs)
    {
        Rank = rank;
        Inputs = inputs;
        if (rank <= InlineAxes)
            values.CopyTo(_inline);
        else
            _spilled = values.ToArray();
        Inner = values[rank - 1];
        int rows = 1;
        for (int j = 0; j < rank - 1; j++)
            rows *= values[j];
        Rows = rows;
    }

    /// <summary>The merged sizes followed by each input's strides (see <see cref="InlineValues"/>).</summary>
    [System.Diagnostics.CodeAnalysis.UnscopedRef]
    private ReadOnlySpan<int> Values => _spilled ?? (ReadOnlySpan<int>)_inline;

    /// <summary>Number of merged axes (at least 1).</summary>
    public int Rank { get; }

    /// <summary>Number of inputs described.</summary>
    public int Inputs { get; }

    /// <summary>Length of one inner run (the last merged axis).</summary>
    public int Inner { get; }

    /// <summary>Number of inner runs: the product of every merged axis but the last (the output is Rows × Inner).</summary>
    public int Rows { get; }

    /// <summary>Size of merged axis <paramref name="axis"/>.</summary>
    public int Dim(int axis) => Values[axis];

    /// <summary>Input <paramref name="input"/>'s stride on merged axis <paramref name="axis"/> (0 = stretched).</summary>
    public int Stride(int input, int axis) => Values[Rank + input * Rank + axis];

    /// <summary>Whether input <paramref name="input"/> is real (stride 1) along the inner run, rather than one repeated value.</summary>
    public bool InnerIsContiguous(int input) => Stride(input, Rank - 1) != 0;

    /// <summary>The plan for one input stretched to <paramref name="output"/>.</summary>
    public static BroadcastPlan Create(ReadOnlySpan<int> output, ReadOnlySpan<int> input0) =>
        Create(output, 1, input0, default, default);

    /// <summary>The plan for two inputs broadcast to <paramref name="output"/>.</summary>
    public static BroadcastPlan Create(ReadOnlySpan<int> output, ReadOnlySpan<int> input0, ReadOnlySpan<int> input1) =>
        Create(output, 2, input0, input1, default);

    /// <summary>The plan for three inputs broadcast to <paramref name="output"/>.</summary>
    public static BroadcastPlan Create(ReadOnlySpan<int> output, ReadOnlySpan<int> input0, ReadOnlySpan<int> input1, ReadOnlySpan<int> input2) =>
        Create(output, 3, input0, input1, input2);

    private static BroadcastPlan Create(ReadOnlySpan<int> output, int inputs, ReadOnlySpan<int> input0, ReadOnlySpan<int> input1, ReadOnlySpan<int> input2)
    {
        int outRank = output.Length;
        // Pass 1: merge axes. A bit per input says "stretched on this axis"; equal bit patterns merge.
        Span<int> dims = stackalloc int[Math.Max(outRank, 1)];
        Span<int> stretchedBits = stackalloc int[Math.Max(outRank, 1)];
        int rank = 0;
        for (int axis = 0; axis < outRank; axis++)
        {
            int size = output[axis];
            if (size == 1)
                continue;
            int bits = 0;
            for (int k = 0; k < inputs; k++)
            {
                ReadOnlySpan<int> shape = k == 0 ? input0 : k == 1 ? input1 : input2;
                int own = BroadcastShape.SizeAt(shape, outRank, axis);
                if (own == 1)
                    bits |= 1 << k;
                else if (own != size)
                    throw new ArgumentException($"Input shape {Shapes.Format(shape)} does not broadcast to {Shapes.Format(output)}.");
            }
            if (rank > 0 && stretchedBits[rank - 1] == bits)
                dims[rank - 1] *= size;
            else
            {
                dims[rank] = size;
                stretchedBits[rank] = bits;
                rank++;
            }
        }
        if (rank == 0) // every axis has size 1 (or a scalar): one run of one element
        {
            dims[0] = 1;
            stretchedBits[0] = 0;
            rank = 1;
        }

        // Pass 2: strides, innermost first. A real axis advances by the product of the real axes inside it.
        Span<int> values = stackalloc int[(1 + inputs) * rank];
        values.Clear();
        dims[..rank].CopyTo(values);
        for (int k = 0; k < inputs; k++)
        {
            int step = 1;
            for (int j = rank - 1; j >= 0; j--)
            {
                if ((stretchedBits[j] & (1 << k)) != 0)
                    continue; // stride stays 0
                values[rank + k * rank + j] = step;
                step *= dims[j];
            }
        }
        return new BroadcastPlan(values, rank, inputs);
    }

    /// <summary>
    /// Sets <paramref name="index"/> (the merged outer axes' indices) and each input's flat offset to where
    /// inner run <paramref name="row"/> starts.
    /// </summary>
    public void Locate(int row, Span<int> index, Span<int> offsets)
    {
        ReadOnlySpan<int> values = Values;
        int rank = Rank;
        offsets.Clear();
        for (int j = rank - 2; j >= 0; j--)
        {
            int i = row % values[j];
            row /= values[j];
            index[j] = i;
            for (int k = 0; k < Inputs; k++)
                offsets[k] += i * values[rank + k * rank + j];
        }
    }

    /// <summary>Moves <paramref name="index"/> and the input offsets on to the next inner run (an odometer over the outer axes).</summary>
    public void Advance(Span<int> index, Span<int> offsets)
    {
        ReadOnlySpan<int> values = Values;
        int rank = Rank;
        for (int j = rank - 2; j >= 0; j--)
        {
            for (int k = 0; k < Inputs; k++)
                offsets[k] += values[rank + k * rank + j];
            if (++index[j] < values[j])
                return;
            // This axis wrapped: go back to its start and carry into the next outer axis.
            index[j] = 0;
            for (int k = 0; k < Inputs; k++)
                offsets[k] -= values[j] * values[rank + k * rank + j];
        }
    }
}
