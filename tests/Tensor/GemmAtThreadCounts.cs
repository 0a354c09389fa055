using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>The same plain product C = A·B (A M×K, B K×N, both row-major) computed at each of several thread counts.</summary>
internal static class GemmAtThreadCounts
{
    /// <summary>One fresh C per entry of <paramref name="threadCounts"/>, in order; <see cref="Parallelism.MaxThreads"/> is restored.</summary>
    public static List<float[]> Products(int m, int n, int k, float[] a, float[] b, params int[] threadCounts)
    {
        int saved = Parallelism.MaxThreads;
        var results = new List<float[]>();
        try
        {
            foreach (int threads in threadCounts)
            {
                Parallelism.MaxThreads = threads;
                float[] c = new float[m * n];
                Gemm.Multiply(false, false, m, n, k, a, k, b, n, c, n);
                results.Add(c);
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
        return results;
    }
}
