using System.Numerics.Tensors;
using NanoNet.Kernels;

namespace NanoNet.Tests;

public class ColumnSumsTests
{
    [TestCase(6400, 512)]   // the IMDB seed LSTM's gate gradient
    [TestCase(300, 390)]    // columns not a multiple of 16
    [TestCase(7, 33)]       // below the parallel threshold
    public void EqualsTheRowByRowLoopBitwiseAtAnyThreadCount(int rows, int columns)
    {
        float[] matrix = Tensor.RandomUniform([rows, columns], -1, 1, 70).ToArray();
        float[] start = Tensor.RandomUniform([columns], -1, 1, 71).ToArray();
        float[] expected = (float[])start.Clone();
        for (int row = 0; row < rows; row++)
            TensorPrimitives.Add(expected, matrix.AsSpan(row * columns, columns), expected);
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.MaxThreads = threads;
                float[] sums = (float[])start.Clone();
                Parallelism.ResetWidestRegion();
                ColumnSums.AddRows(matrix, rows, columns, sums);
                Assert.That(sums, Is.EqualTo(expected).AsCollection, $"{threads} thread(s)");
                if (threads > 1 && rows * columns >= 1 << 16)
                    Assert.That(Parallelism.WidestRegion, Is.EqualTo(threads), "the columns were split");
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
