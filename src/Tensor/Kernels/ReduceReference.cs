namespace NanoNet.Kernels;

/// <summary>
/// Plain reference reductions the fast kernels are tested against: index arithmetic on the original
/// shape, any set of axes, double accumulation. Slow on purpose; obviously right.
/// </summary>
/// <remarks>Shape legend: x has <c>shape</c>; y has the kept axes' product elements (keepDims does not
/// change the row-major order). axes are non-negative and distinct.</remarks>
public static class ReduceReference
{
    /// <summary>The reductions the reference knows.</summary>
    public enum Kind
    {
        /// <summary>Σ x.</summary>
        Sum,
        /// <summary>Σ x / n.</summary>
        Mean,
        /// <summary>max x.</summary>
        Max,
        /// <summary>min x.</summary>
        Min,
        /// <summary>Σ (x − mean)² / n.</summary>
        Variance,
        /// <summary>log Σ exp x.</summary>
        LogSumExp,
    }

    /// <summary>y = the <paramref name="kind"/> reduction of x over <paramref name="axes"/>.</summary>
    public static void Reduce(Kind kind, ReadOnlySpan<float> x, int[] shape, int[] axes, Span<float> y)
    {
        int[] target = OutputIndices(shape, axes);
        var count = new int[y.Length];
        foreach (int t in target)
            count[t]++;

        var first = new double[y.Length];  // mean (Variance) or max (LogSumExp)
        var acc = new double[y.Length];
        bool[] seen = new bool[y.Length];
        for (int j = 0; j < x.Length; j++)
        {
            int t = target[j];
            double v = x[j];
            switch (kind)
            {
                case Kind.Sum or Kind.Mean or Kind.Variance: first[t] += v; break;
                case Kind.Max or Kind.LogSumExp: first[t] = seen[t] ? Math.Max(first[t], v) : v; break;
                case Kind.Min: first[t] = seen[t] ? Math.Min(first[t], v) : v; break;
            }
            seen[t] = true;
        }
        if (kind is Kind.Mean or Kind.Variance)
            for (int t = 0; t < y.Length; t++)
                first[t] /= count[t];
        if (kind is Kind.Variance or Kind.LogSumExp)
        {
            for (int j = 0; j < x.Length; j++)
            {
                int t = target[j];
                double shifted = x[j] - first[t];
                acc[t] += kind == Kind.Variance ? shifted * shifted : Math.Exp(shifted);
            }
            for (int t = 0; t < y.Length; t++)
                first[t] = kind == Kind.Variance ? acc[t] / count[t] : first[t] + Math.Log(acc[t]);
        }
        for (int t = 0; t < y.Length; t++)
            y[t] = (float)first[t];
    }

    /// <summary>For every x element (row-major), the flat index of the output it reduces into.</summary>
    public static int[] OutputIndices(int[] shape, int[] axes)
    {
        int rank = shape.Length, length = Shapes.Product(shape);
        var outputStride = new int[rank];
        int step = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            if (Array.IndexOf(axes, d) >= 0)
                continue;
            outputStride[d] = step;
            step *= shape[d];
        }
        var target = new int[length];
        var index = new int[rank];
        for (int j = 0; j < length; j++)
        {
            int t = 0;
            for (int d = 0; d < rank; d++)
                t += index[d] * outputStride[d];
            target[j] = t;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                    break;
                index[d] = 0;
            }
        }
        return target;
    }
}
