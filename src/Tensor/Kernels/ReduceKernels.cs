using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Reductions over one axis run of a tensor seen as (outer, reduced, inner) blocks (see
/// <see cref="ReduceLayout"/>), forward and backward. Backward kernels accumulate into dX.
/// </summary>
/// <remarks>
/// <para>Shape legend: x and dX are outer × reduced × inner; y, dY and the per-output statistics (mean,
/// max, shift) are outer × inner; indices is outer × inner. y[o, i] reduces x[o, 0..reduced, i].</para>
/// <para>Two loop shapes, both vectorised along the contiguous axis:
/// <list type="bullet">
/// <item>inner = 1 (the reduced axis is the last one): each output reduces one contiguous row, a single
/// <see cref="TensorPrimitives"/> call (Sum, Max, ...);</item>
/// <item>inner &gt; 1: the rows x[o, r, :] are combined element-wise into an accumulator row
/// (TensorPrimitives.Add, Max, ...), r = 0, 1, ... in order.</item>
/// </list>
/// Outputs are independent, so <see cref="ReduceTiles"/> splits them across threads; no sum is ever split,
/// and the results are bit-identical at any thread count.</para>
/// </remarks>
public static unsafe class ReduceKernels
{
    /// <summary>y[o, i] = Σᵣ x[o, r, i].</summary>
    public static void Sum(ReadOnlySpan<float> x, Span<float> y, int outer, int reduced, int inner) =>
        Reduce<SumReduction>(x, y, outer, reduced, inner);

    /// <summary>y[o, i] = maxᵣ x[o, r, i] (reduced must be at least 1).</summary>
    public static void Max(ReadOnlySpan<float> x, Span<float> y, int outer, int reduced, int inner) =>
        Reduce<MaxReduction>(x, y, outer, reduced, inner);

    /// <summary>y[o, i] = minᵣ x[o, r, i] (reduced must be at least 1).</summary>
    public static void Min(ReadOnlySpan<float> x, Span<float> y, int outer, int reduced, int inner) =>
        Reduce<MinReduction>(x, y, outer, reduced, inner);

    /// <summary>y[o, i] = Σᵣ (x[o, r, i] − mean[o, i])²: the numerator of the population variance.</summary>
    public static void SumSquaredDeviations(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, Span<float> y, int outer, int reduced, int inner) =>
        ShiftedSum<SquaredDeviation>(x, mean, y, outer, reduced, inner);

    /// <summary>y[o, i] = Σᵣ exp(x[o, r, i] − shift[o, i]): LogSumExp's sum, with the max as the shift.</summary>
    public static void SumShiftedExp(ReadOnlySpan<float> x, ReadOnlySpan<float> shift, Span<float> y, int outer, int reduced, int inner) =>
        ShiftedSum<ShiftedExp>(x, shift, y, outer, reduced, inner);

    /// <summary>
    /// indices[o, i] = the flat index into x of the first r (in order) with x[o, r, i] == y[o, i], the
    /// element a max or min came from; r = 0 when none is equal (a NaN maximum).
    /// </summary>
    public static void FirstIndexOf(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<int> indices, int outer, int reduced, int inner)
    {
        Check(x.Length, y.Length, outer, reduced, inner);
        if (indices.Length != y.Length)
            throw new ArgumentException($"Reduce: indices hold {indices.Length} elements, the output {y.Length}.");
        fixed (float* px = x, py = y)
        fixed (int* pi = indices)
            ReduceTiles.Run(new FirstIndexBody(px, py, pi, reduced, inner), outer, inner, x.Length);
    }

    // ---- backward ------------------------------------------------------------------------------------

    /// <summary>dX[o, r, i] += scale · dY[o, i]: the backward of Sum (scale 1) and Mean (scale 1/reduced).</summary>
    public static void BroadcastAdd(ReadOnlySpan<float> dY, float scale, Span<float> dX, int outer, int reduced, int inner)
    {
        Check(dX.Length, dY.Length, outer, reduced, inner);
        fixed (float* pdy = dY, pdx = dX)
            ReduceTiles.Run(new BroadcastAddBody(pdy, scale, pdx, reduced, inner), outer, inner, dX.Length);
    }

    /// <summary>dX[o, r, i] += scale · (x[o, r, i] − mean[o, i]) · dY[o, i]: Variance's backward with scale 2/reduced.</summary>
    public static void SquaredDeviationsBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> dY, float scale,
        Span<float> dX, int outer, int reduced, int inner) =>
        ShiftedBackward<SquaredDeviation>(x, mean, dY, scale, dX, outer, reduced, inner);

    /// <summary>dX[o, r, i] += exp(x[o, r, i] − y[o, i]) · dY[o, i]: LogSumExp's backward (softmax · dY) given its output y.</summary>
    public static void LogSumExpBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dY,
        Span<float> dX, int outer, int reduced, int inner) =>
        ShiftedBackward<ShiftedExp>(x, y, dY, 1f, dX, outer, reduced, inner);

    /// <summary>dX[indices[j]] += dY[j]: the backward of Max and Min, all of each gradient to the winner.</summary>
    public static void ScatterAdd(ReadOnlySpan<float> dY, ReadOnlySpan<int> indices, Span<float> dX)
    {
        if (indices.Length != dY.Length)
            throw new ArgumentException($"Reduce: {indices.Length} indices for {dY.Length} gradients.");
        for (int j = 0; j < dY.Length; j++)
            dX[indices[j]] += dY[j];
    }

    // ---- the generic kernels -----------------------------------------------------------------------

    internal static void Reduce<TReduction>(ReadOnlySpan<float> x, Span<float> y, int outer, int reduced, int inner)
        where TReduction : struct, IReduction
    {
        Check(x.Length, y.Length, outer, reduced, inner);
        fixed (float* px = x, py = y)
            ReduceTiles.Run(new ReduceBody<TReduction>(px, py, reduced, inner), outer, inner, x.Length);
    }

    /// <summary>y[o, i] = Σᵣ f(x[o, r, i] − shift[o, i]).</summary>
    internal static void ShiftedSum<TTerm>(ReadOnlySpan<float> x, ReadOnlySpan<float> shift, Span<float> y, int outer, int reduced, int inner)
        where TTerm : struct, IShiftedTerm
    {
        Check(x.Length, y.Length, outer, reduced, inner);
        Check(x.Length, shift.Length, outer, reduced, inner);
        fixed (float* px = x, ps = shift, py = y)
            ReduceTiles.Run(new ShiftedSumBody<TTerm>(px, ps, py, reduced, inner), outer, inner, x.Length);
    }

    /// <summary>dX[o, r, i] += scale · f'(x[o, r, i] − shift[o, i]) · dY[o, i].</summary>
    internal static void ShiftedBackward<TTerm>(ReadOnlySpan<float> x, ReadOnlySpan<float> shift, ReadOnlySpan<float> dY, float scale,
        Span<float> dX, int outer, int reduced, int inner) where TTerm : struct, IShiftedTerm
    {
        Check(x.Length, dY.Length, outer, reduced, inner);
        Check(dX.Length, shift.Length, outer, reduced, inner);
        fixed (float* px = x, ps = shift, pdy = dY, pdx = dX)
            ReduceTiles.Run(new ShiftedBackwardBody<TTerm>(px, ps, pdy, scale, pdx, reduced, inner), outer, inner, x.Length);
    }

    private static void Check(int inputLength, int outputLength, int outer, int reduced, int inner)
    {
        if (outer < 0 || reduced < 0 || inner < 0 || inputLength != (long)outer * reduced * inner || outputLength != (long)outer * inner)
            throw new ArgumentException(
                $"Reduce: blocks ({outer}, {reduced}, {inner}) need {(long)outer * reduced * inner} input and {(long)outer * inner} output elements, got {inputLength} and {outputLength}.");
    }

    // ---- tile bodies: one output row (or a chunk of one) each ------------------------------------------

    private readonly struct ReduceBody<TReduction>(float* x, float* y, int reduced, int inner) : ITileBody
        where TReduction : struct, IReduction
    {
        public void Run(int o, int i0, int count)
        {
            float* block = x + (long)o * reduced * inner + i0;
            if (inner == 1)
            {
                y[o] = TReduction.Row(new ReadOnlySpan<float>(block, reduced));
                return;
            }
            var accumulator = new Span<float>(y + (long)o * inner + i0, count);
            if (reduced == 0)
            {
                accumulator.Clear();
                return;
            }
            new ReadOnlySpan<float>(block, count).CopyTo(accumulator);
            for (int r = 1; r < reduced; r++)
                TReduction.Combine(accumulator, new ReadOnlySpan<float>(block + (long)r * inner, count), accumulator);
        }
    }

    private readonly struct ShiftedSumBody<TTerm>(float* x, float* shift, float* y, int reduced, int inner) : ITileBody
        where TTerm : struct, IShiftedTerm
    {
        public void Run(int o, int i0, int count)
        {
            Span<float> term = stackalloc float[ReduceTiles.Chunk];
            float* block = x + (long)o * reduced * inner + i0;
            if (inner == 1)
            {
                // One contiguous row: chunk by chunk, v = x − shift, then f(v), summed.
                float s = shift[o], total = 0f;
                for (int start = 0; start < reduced; start += ReduceTiles.Chunk)
                {
                    Span<float> v = term[..Math.Min(ReduceTiles.Chunk, reduced - start)];
                    TensorPrimitives.Subtract(new ReadOnlySpan<float>(block + start, v.Length), s, v);
                    TTerm.Value(v);
                    total += TensorPrimitives.Sum<float>(v);
                }
                y[o] = total;
                return;
            }
            var accumulator = new Span<float>(y + (long)o * inner + i0, count);
            var shiftRow = new ReadOnlySpan<float>(shift + (long)o * inner + i0, count);
            Span<float> w = term[..count];
            accumulator.Clear();
            for (int r = 0; r < reduced; r++)
            {
                TensorPrimitives.Subtract(new ReadOnlySpan<float>(block + (long)r * inner, count), shiftRow, w);
                TTerm.Value(w);
                TensorPrimitives.Add(accumulator, w, accumulator);
            }
        }
    }

    private readonly struct ShiftedBackwardBody<TTerm>(float* x, float* shift, float* dY, float scale, float* dX, int reduced, int inner) : ITileBody
        where TTerm : struct, IShiftedTerm
    {
        public void Run(int o, int i0, int count)
        {
            Span<float> term = stackalloc float[ReduceTiles.Chunk];
            long blockStart = (long)o * reduced * inner + i0;
            if (inner == 1)
            {
                float s = shift[o], g = scale * dY[o];
                for (int start = 0; start < reduced; start += ReduceTiles.Chunk)
                {
                    Span<float> v = term[..Math.Min(ReduceTiles.Chunk, reduced - start)];
                    var dx = new Span<float>(dX + blockStart + start, v.Length);
                    TensorPrimitives.Subtract(new ReadOnlySpan<float>(x + blockStart + start, v.Length), s, v);
                    TTerm.Slope(v);
                    TensorPrimitives.MultiplyAdd(v, g, dx, dx);
                }
                return;
            }
            var shiftRow = new ReadOnlySpan<float>(shift + (long)o * inner + i0, count);
            var dyRow = new ReadOnlySpan<float>(dY + (long)o * inner + i0, count);
            Span<float> w = term[..count];
            for (int r = 0; r < reduced; r++)
            {
                long at = blockStart + (long)r * inner;
                var dx = new Span<float>(dX + at, count);
                TensorPrimitives.Subtract(new ReadOnlySpan<float>(x + at, count), shiftRow, w);
                TTerm.Slope(w);
                TensorPrimitives.Multiply(w, dyRow, w);
                TensorPrimitives.MultiplyAdd(w, scale, dx, dx);
            }
        }
    }

    private readonly struct BroadcastAddBody(float* dY, float scale, float* dX, int reduced, int inner) : ITileBody
    {
        public void Run(int o, int i0, int count)
        {
            long blockStart = (long)o * reduced * inner + i0;
            if (inner == 1)
            {
                var row = new Span<float>(dX + blockStart, reduced);
                TensorPrimitives.Add(row, scale * dY[o], row);
                return;
            }
            var dyRow = new ReadOnlySpan<float>(dY + (long)o * inner + i0, count);
            for (int r = 0; r < reduced; r++)
            {
                var dx = new Span<float>(dX + blockStart + (long)r * inner, count);
                if (scale == 1f)
                    TensorPrimitives.Add(dx, dyRow, dx);
                else
                    TensorPrimitives.MultiplyAdd(dyRow, scale, dx, dx);
            }
        }
    }

    private readonly struct FirstIndexBody(float* x, float* y, int* indices, int reduced, int inner) : ITileBody
    {
        public void Run(int o, int i0, int count)
        {
            long blockStart = (long)o * reduced * inner + i0;
            Span<int> found = stackalloc int[ReduceTiles.Chunk];
            found = found[..count];
            found.Fill(-1);
            int missing = count;
            float* target = y + (long)o * inner + i0;
            for (int r = 0; r < reduced && missing > 0; r++)
            {
                float* row = x + blockStart + (long)r * inner;
                for (int j = 0; j < count; j++)
                    if (found[j] < 0 && row[j] == target[j])
                    {
                        found[j] = r;
                        missing--;
                    }
            }
            int* destination = indices + (long)o * inner + i0;
            for (int j = 0; j < count; j++)
                destination[j] = (int)(blockStart + (long)Math.Max(found[j], 0) * inner + j);
        }
    }
}
