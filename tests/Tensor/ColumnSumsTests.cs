using System.Numerics.Tensors;
using NanoNet.Kernels;

namespace NanoNet.Tests;

public class ColumnSumsTests
{
    [TestCase(6400, 512, 512)]     // the IMDB seed LSTM's gate gradient
    [TestCase(300, 390, 390)]      // columns not a multiple of 16
    [TestCase(7, 33, 33)]          // below the parallel threshold
    [TestCase(32, 36864, 36928)]   // a convolution's [dW; db] partials (Keras 64 → 64): dW, the first P·F of each chunk's row; blocks of 1,024 columns
    [TestCase(32, 64, 36928)]      // ... and db, the last F of it
    [TestCase(5, 2500, 2611)]      // a stride that is not a multiple of 16, a last block shorter than 1,024
    public void EqualsTheRowByRowLoopBitwiseAtAnyThreadCount(int rows, int columns, int rowStride)
    {
        float[] matrix = Tensor.RandomUniform([(rows - 1) * rowStride + columns], -1, 1, 70).ToArray();
        float[] start = Tensor.RandomUniform([columns], -1, 1, 71).ToArray();
        float[] expected = (float[])start.Clone();
        for (int row = 0; row < rows; row++)
            TensorPrimitives.Add(expected, matrix.AsSpan(row * rowStride, columns), expected);
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.MaxThreads = threads;
                float[] sums = (float[])start.Clone();
                Parallelism.ResetWidestRegion();
                if (rowStride == columns)
                    ColumnSums.AddRows(matrix, rows, columns, sums);
                else
                    ColumnSums.AddRows(matrix, rows, columns, rowStride, sums);
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
