namespace NanoNet.Kernels;

/// <summary>
/// Plain reference softmax and log-softmax along the middle axis of (outer, n, inner) blocks, in double,
/// with index arithmetic: what <see cref="SoftmaxAxisKernels"/> is tested against.
/// </summary>
/// <remarks>Shape legend: every span is outer × n × inner; element (o, r, i) is at (o·n + r)·inner + i.</remarks>
public static class SoftmaxAxisReference
{
    /// <summary>y = softmax along n (<paramref name="log"/>: log-softmax).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner, bool log)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int r = 0; r < n; r++)
                    max = Math.Max(max, x[(o * n + r) * inner + i]);
                for (int r = 0; r < n; r++)
                    sum += Math.Exp(x[(o * n + r) * inner + i] - max);
                for (int r = 0; r < n; r++)
                {
                    double shifted = x[(o * n + r) * inner + i] - max;
                    y[(o * n + r) * inner + i] = (float)(log ? shifted - Math.Log(sum) : Math.Exp(shifted) / sum);
                }
            }
    }

    /// <summary>dX += the backward of softmax (<paramref name="log"/>: log-softmax) given its output y.</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, int outer, int n, int inner, bool log)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double s = 0;
                for (int r = 0; r < n; r++)
                {
                    int at = (o * n + r) * inner + i;
                    s += log ? dY[at] : (double)dY[at] * y[at];
                }
                for (int r = 0; r < n; r++)
                {
                    int at = (o * n + r) * inner + i;
                    dX[at] += (float)(log ? dY[at] - Math.Exp(y[at]) * s : y[at] * (dY[at] - s));
                }
            }
    }
}
