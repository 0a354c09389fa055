using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// The layout copies the recurrent kernels (<see cref="LstmKernels"/>, <see cref="GruKernels"/>,
/// <see cref="SimpleRnnKernels"/>) share: batch-major (N, T, F) to and from time-major T·N×F, optionally
/// reading the steps backwards (Keras' <c>go_backwards</c>) and scaling every step of a sequence by that
/// sequence's dropout mask (Keras draws one mask per sequence, shared by all its steps).
/// </summary>
/// <remarks>Shape legend: N = batch, T = time steps, F = features per step; a scale is N×F (one row per
/// sequence) or empty (no scaling). Time-major row step·N + n holds sequence n at processing step "step",
/// which is input step T−1−step when reversed.</remarks>
internal static class RecurrentLayout
{
    /// <summary>(N, T, F) batch-major to T·N×F time-major, steps reversed when <paramref name="reverse"/>, each row times its sequence's scale.</summary>
    public static void ToTimeMajor(ReadOnlySpan<float> source, Span<float> destination, int n, int t, int f,
        bool reverse = false, ReadOnlySpan<float> scale = default)
    {
        for (int row = 0; row < n; row++)
            for (int step = 0; step < t; step++)
            {
                ReadOnlySpan<float> from = source.Slice((row * t + InputStep(step, t, reverse)) * f, f);
                Span<float> to = destination.Slice((step * n + row) * f, f);
                if (scale.IsEmpty)
                    from.CopyTo(to);
                else
                    TensorPrimitives.Multiply(from, scale.Slice(row * f, f), to);
            }
    }

    /// <summary>
    /// T·N×F time-major to (N, T, F) batch-major, copied or added, steps reversed when <paramref name="reverse"/>,
    /// each row times its sequence's scale.
    /// </summary>
    public static void FromTimeMajor(ReadOnlySpan<float> source, Span<float> destination, int n, int t, int f, bool accumulate,
        bool reverse = false, ReadOnlySpan<float> scale = default)
    {
        for (int row = 0; row < n; row++)
            for (int step = 0; step < t; step++)
            {
                StoreOrAdd(source.Slice((step * n + row) * f, f), destination.Slice((row * t + InputStep(step, t, reverse)) * f, f),
                    scale.IsEmpty ? default : scale.Slice(row * f, f), accumulate);
            }
    }

    /// <summary>to = from (⊙ scale when given), or to += that when <paramref name="accumulate"/>: one row of a gradient
    /// going back to batch-major, added to what the input's gradient holds or stored into a new one.</summary>
    public static void StoreOrAdd(ReadOnlySpan<float> from, Span<float> to, ReadOnlySpan<float> scale, bool accumulate)
    {
        if (!scale.IsEmpty)
        {
            if (accumulate)
                TensorPrimitives.MultiplyAdd(from, scale, to, to);
            else
                TensorPrimitives.Multiply(from, scale, to);
        }
        else if (accumulate)
            TensorPrimitives.Add(to, from, to);
        else
            from.CopyTo(to);
    }

    /// <summary>The input step read at processing step <paramref name="step"/>: itself, or T−1−step going backwards.</summary>
    public static int InputStep(int step, int t, bool reverse) => reverse ? t - 1 - step : step;

    /// <summary>
    /// Where <paramref name="row"/>'s output gradient at processing step <paramref name="step"/> is in dY, from unit
    /// <paramref name="firstUnit"/>: N×T×U with return_sequences (row-major by sequence), else N×U for the last step only;
    /// null for a step without one.
    /// </summary>
    public static unsafe float* OutputGradientRow(float* dy, bool returnSequences, int row, int step, int t, int u, int firstUnit) =>
        returnSequences ? dy + ((long)row * t + step) * u + firstUnit : step == t - 1 ? dy + (long)row * u + firstUnit : null;

    /// <summary>destination (columns×rows) = sourceᵀ, source rows×columns.</summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int columns)
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
                destination[j * rows + i] = source[i * columns + j];
    }

    /// <summary>Checks a per-sequence dropout scale: empty, or N×F.</summary>
    public static void CheckScale(ReadOnlySpan<float> scale, int n, int f, string what)
    {
        if (!scale.IsEmpty && scale.Length != n * f)
            throw new ArgumentException($"{what} needs N·F = {n}·{f} = {n * f} values, got {scale.Length}.");
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/>, or zeroes it when the source is empty.</summary>
    public static void CopyOrClear(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (source.IsEmpty)
            destination.Clear();
        else
            source.CopyTo(destination);
    }

    /// <summary>
    /// Checks the state gradients of a backward pass: each empty or one N×U block (<paramref name="block"/> values);
    /// a gradient into the initial state needs an initial state.
    /// </summary>
    public static void CheckStateGradients(int block, bool hasInitialState, ReadOnlySpan<float> dFinalHidden, ReadOnlySpan<float> dFinalCell,
        ReadOnlySpan<float> dInitialHidden, ReadOnlySpan<float> dInitialCell, string what)
    {
        foreach ((int length, string name) in (ReadOnlySpan<(int, string)>)[(dFinalHidden.Length, "final hidden"), (dFinalCell.Length, "final cell"),
            (dInitialHidden.Length, "initial hidden"), (dInitialCell.Length, "initial cell")])
            if (length != 0 && length != block)
                throw new ArgumentException($"{what} backward: the {name} state gradient needs N·U = {block} values, got {length}.");
        if (!hasInitialState && (!dInitialHidden.IsEmpty || !dInitialCell.IsEmpty))
            throw new ArgumentException($"{what} backward: a gradient into the initial state needs the forward call to start from one.");
    }
}
