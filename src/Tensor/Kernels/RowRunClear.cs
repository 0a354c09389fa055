using NanoNet.Autograd;

namespace NanoNet.Kernels;

/// <summary>
/// Zero-fills the touched rows of an embedding's gradient (<see cref="GradientRows"/>), run by run, asking for the
/// lines of a run a few runs ahead so that their memory latencies overlap.
/// </summary>
/// <remarks>
/// Shape legend: the gradient is rows × width; the touched rows come as runs of consecutive rows. The rows of a
/// large table (20,000×128: 10 MB) are scattered through memory, and after a training step they are no longer
/// in cache: cleared one after the other, each run waits for its first line to arrive before the next one starts.
/// </remarks>
internal static class RowRunClear
{
    /// <summary>How many runs ahead the lines are requested.</summary>
    private const int Distance = 4;

    public static void Clear(Span<float> gradient, GradientRows rows, int width)
    {
        int ahead = 0; // the row the look-ahead continues from
        for (int k = 0; k < Distance && rows.NextRun(ahead, out int start, out int count); k++)
        {
            CacheLines.Prefetch(gradient, start * width, count * width);
            ahead = start + count;
        }
        for (int row = 0; rows.NextRun(row, out int start, out int count); row = start + count)
        {
            if (rows.NextRun(ahead, out int nextStart, out int nextCount))
            {
                CacheLines.Prefetch(gradient, nextStart * width, nextCount * width);
                ahead = nextStart + nextCount;
            }
            gradient.Slice(start * width, count * width).Clear();
        }
    }
}
