using System.Numerics;
using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Broadcasting element-wise kernels: forward (y = f(a, b) with inputs stretched to the output shape),
/// selection, stretching, and the backward reduction (summing a gradient over the axes an input was stretched on).
/// </summary>
/// <remarks>
/// <para>Shape legend: out = output shape (y and dY have it); a, b, mask, x = input shapes that broadcast to
/// out (see <see cref="BroadcastShape"/>); g = an input's gradient, shaped like that input. All row-major and contiguous.</para>
/// <para>
/// How: a <see cref="BroadcastPlan"/> merges axes until the output is Rows × Inner, with each input either
/// real (stride 1) or stretched (one repeated value) along the inner run. The kernels walk the rows with an
/// odometer and hand each inner run to one vectorised span call: TensorPrimitives through a generic struct
/// operator (<see cref="IBinaryOperator"/>), so nothing is called per element through a delegate or
/// interface. Identical shapes are one run; (64, 128, 256) + (256) is 8192 runs of 256.
/// </para>
/// <para>
/// Threads: forward kernels split a large output into contiguous blocks of rows, one per worker (each
/// output element is computed the same way at any thread count). <see cref="SumInto"/> sums in output
/// order; it splits across workers only along the outermost merged axis, and only when the gradient is
/// real on it, so each worker owns separate gradient elements and every sum runs in the same order at any
/// thread count.
/// </para>
/// </remarks>
internal static unsafe class Broadcast
{
    /// <summary>Output elements per worker below which a parallel region costs more than it saves.</summary>
    private const int MinElementsPerWorker = 1 << 15;

    /// <summary>y = f(a, b) with a and b broadcast to out (<typeparamref name="TOp"/> is f, see <see cref="IBinaryOperator"/>).</summary>
    public static void Binary<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> y, ReadOnlySpan<int> yShape) where TOp : struct, IBinaryOperator
    {
        CheckLength(a, aShape, "a");
        CheckLength(b, bShape, "b");
        CheckLength(y, yShape, "y");
        if (y.Length == 0)
            return;
        BroadcastPlan plan = BroadcastPlan.Create(yShape, aShape, bShape);
        fixed (float* pa = a, pb = b, py = y)
        {
            var row = new BinaryRow<TOp> { A = pa, B = pb, Y = py, AReal = plan.InnerIsContiguous(0), BReal = plan.InnerIsContiguous(1) };
            RunRows(plan, row, y.Length, granularity: 1);
        }
    }

    /// <summary>y = mask ≠ 0 ? a : b, all three broadcast to out.</summary>
    public static void Select(ReadOnlySpan<float> mask, ReadOnlySpan<int> maskShape, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape,
        ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
    {
        CheckLength(mask, maskShape, "mask");
        CheckLength(a, aShape, "a");
        CheckLength(b, bShape, "b");
        CheckLength(y, yShape, "y");
        if (y.Length == 0)
            return;
        BroadcastPlan plan = BroadcastPlan.Create(yShape, maskShape, aShape, bShape);
        fixed (float* pm = mask, pa = a, pb = b, py = y)
        {
            var row = new SelectRow
            {
                Mask = pm, A = pa, B = pb, Y = py,
                MaskReal = plan.InnerIsContiguous(0), AReal = plan.InnerIsContiguous(1), BReal = plan.InnerIsContiguous(2),
            };
            RunRows(plan, row, y.Length, granularity: 1);
        }
    }

    /// <summary>y = x stretched to out (a materialised <c>BroadcastTo</c>).</summary>
    public static void Stretch(ReadOnlySpan<float> x, ReadOnlySpan<int> xShape, Span<float> y, ReadOnlySpan<int> yShape)
    {
        CheckLength(x, xShape, "x");
        CheckLength(y, yShape, "y");
        if (y.Length == 0)
            return;
        BroadcastPlan plan = BroadcastPlan.Create(yShape, xShape);
        fixed (float* px = x, py = y)
            RunRows(plan, new StretchRow { X = px, Y = py, XReal = plan.InnerIsContiguous(0) }, y.Length, granularity: 1);
    }

    /// <summary>
    /// The backward of stretching: g += Σ dY over every axis on which g's shape was stretched to out
    /// (g −= … when <paramref name="subtract"/>). With identical shapes it is g += dY.
    /// </summary>
    public static void SumInto(ReadOnlySpan<float> dY, ReadOnlySpan<int> yShape, Span<float> g, ReadOnlySpan<int> gShape, bool subtract = false)
    {
        CheckLength(dY, yShape, "dY");
        CheckLength(g, gShape, "g");
        if (dY.Length == 0)
            return;
        BroadcastPlan plan = BroadcastPlan.Create(yShape, gShape);
        // Workers may only split where each owns separate gradient elements: along the outermost merged
        // axis when g is real on it (then rows of different outer indices touch different elements).
        bool splittable = plan.Rank >= 2 && plan.Stride(0, 0) != 0;
        int granularity = splittable ? plan.Rows / plan.Dim(0) : plan.Rows;
        fixed (float* pd = dY, pg = g)
            RunRows(plan, new SumRow { DY = pd, G = pg, GReal = plan.InnerIsContiguous(0), Subtract = subtract }, dY.Length, granularity);
    }

    private static void CheckLength(ReadOnlySpan<float> values, ReadOnlySpan<int> shape, string name)
    {
        if (values.Length != Shapes.Product(shape))
            throw new ArgumentException($"Broadcast: {name} has {values.Length} elements but its shape {Shapes.Format(shape)} needs {Shapes.Product(shape)}.");
    }

    // ---- the walk ------------------------------------------------------------------------------

    /// <summary>What to do with one inner run: output elements [outOffset, outOffset + length), inputs starting at their offsets.</summary>
    private interface IRow
    {
        void Run(int outOffset, int offset0, int offset1, int offset2, int length);
    }

    /// <summary>Runs every row, in parallel blocks of whole multiples of <paramref name="granularity"/> rows when the output is large.</summary>
    private static void RunRows<TRow>(in BroadcastPlan plan, TRow row, int outputLength, int granularity) where TRow : struct, IRow
    {
        int units = plan.Rows / granularity;
        int workers = Math.Min(Math.Min(Parallelism.CurrentMaxThreads, units), outputLength / MinElementsPerWorker);
        if (workers <= 1)
        {
            RunRows(in plan, ref row, 0, plan.Rows);
            return;
        }
        RowJob<TRow> job = RowJob<TRow>.ForThisThread;
        (job.Plan, job.Row, job.Units, job.Granularity) = (plan, row, units, granularity);
        Parallelism.Run(job, workers);
    }

    /// <summary>Rows [from, to) in order: locate the first, then advance the odometer run by run.</summary>
    private static void RunRows<TRow>(in BroadcastPlan plan, ref TRow row, int from, int to) where TRow : struct, IRow
    {
        Span<int> index = stackalloc int[plan.Rank];
        Span<int> offsets = stackalloc int[BroadcastPlan.MaxInputs];
        plan.Locate(from, index, offsets);
        int inner = plan.Inner;
        for (int r = from; r < to; r++)
        {
            row.Run(r * inner, offsets[0], offsets[1], offsets[2], inner);
            plan.Advance(index, offsets);
        }
    }

    private sealed class RowJob<TRow> : ParallelJob where TRow : struct, IRow
    {
        [ThreadStatic] private static RowJob<TRow>? t_instance;
        public static RowJob<TRow> ForThisThread => t_instance ??= new RowJob<TRow>();

        public BroadcastPlan Plan;
        public TRow Row;
        public int Units, Granularity;

        public override void RunWorker(int worker, int workerCount)
        {
            int from = (int)((long)Units * worker / workerCount) * Granularity;
            int to = (int)((long)Units * (worker + 1) / workerCount) * Granularity;
            TRow row = Row;
            RunRows(in Plan, ref row, from, to);
        }
    }

    // ---- the inner runs ------------------------------------------------------------------------

    /// <summary>One run of y = f(a, b): the three cases (both real, a repeated, b repeated) map to three span primitives.</summary>
    private struct BinaryRow<TOp> : IRow where TOp : struct, IBinaryOperator
    {
        public float* A, B, Y;
        public bool AReal, BReal;

        public readonly void Run(int outOffset, int offsetA, int offsetB, int unused, int length)
        {
            var y = new Span<float>(Y + outOffset, length);
            if (AReal && BReal)
                TOp.Invoke(new ReadOnlySpan<float>(A + offsetA, length), new ReadOnlySpan<float>(B + offsetB, length), y);
            else if (BReal)
                TOp.Invoke(A[offsetA], new ReadOnlySpan<float>(B + offsetB, length), y);
            else
                TOp.Invoke(new ReadOnlySpan<float>(A + offsetA, length), B[offsetB], y);
        }
    }

    /// <summary>One run of y = mask ≠ 0 ? a : b; a repeated input is a vector of one value.</summary>
    private struct SelectRow : IRow
    {
        public float* Mask, A, B, Y;
        public bool MaskReal, AReal, BReal;

        public readonly void Run(int outOffset, int offsetMask, int offsetA, int offsetB, int length)
        {
            float* m = Mask + offsetMask, a = A + offsetA, b = B + offsetB, y = Y + outOffset;
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                int width = Vector<float>.Count;
                Vector<float> mOne = new(*m), aOne = new(*a), bOne = new(*b);
                for (; i <= length - width; i += width)
                {
                    Vector<float> mv = MaskReal ? Vector.Load(m + i) : mOne;
                    Vector<float> av = AReal ? Vector.Load(a + i) : aOne;
                    Vector<float> bv = BReal ? Vector.Load(b + i) : bOne;
                    Vector.ConditionalSelect(Vector.Equals(mv, Vector<float>.Zero), bv, av).Store(y + i);
                }
            }
            for (; i < length; i++)
                y[i] = (MaskReal ? m[i] : *m) != 0f ? (AReal ? a[i] : *a) : (BReal ? b[i] : *b);
        }
    }

    /// <summary>One run of a stretch: copy a real run, fill a repeated value.</summary>
    private struct StretchRow : IRow
    {
        public float* X, Y;
        public bool XReal;

        public readonly void Run(int outOffset, int offsetX, int unused1, int unused2, int length)
        {
            var y = new Span<float>(Y + outOffset, length);
            if (XReal)
                new ReadOnlySpan<float>(X + offsetX, length).CopyTo(y);
            else
                y.Fill(X[offsetX]);
        }
    }

    /// <summary>One run of the backward reduction: a real g adds the run element-wise; a repeated g adds the run's sum.</summary>
    private struct SumRow : IRow
    {
        public float* DY, G;
        public bool GReal, Subtract;

        public readonly void Run(int outOffset, int offsetG, int unused1, int unused2, int length)
        {
            var dY = new ReadOnlySpan<float>(DY + outOffset, length);
            if (GReal)
            {
                var g = new Span<float>(G + offsetG, length);
                if (Subtract)
                    TensorPrimitives.Subtract(g, dY, g);
                else
                    TensorPrimitives.Add(g, dY, g);
            }
            else
            {
                float sum = TensorPrimitives.Sum(dY);
                G[offsetG] = Subtract ? G[offsetG] - sum : G[offsetG] + sum;
            }
        }
    }
}
