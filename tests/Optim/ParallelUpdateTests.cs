using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Large tensors are updated (and their gradients cleared) by all workers: the split must change no bit.</summary>
public class ParallelUpdateTests
{
    [TestCase("sgd")]
    [TestCase("adam")]
    [TestCase("rmsprop")]
    public void LargeTensorUpdateIsIdenticalAtOneAndTwoThreads(string name)
    {
        float[] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                int n = (1 << 18) + 77; // above the parallel threshold, not a multiple of any vector width
                var w = Tensor.RandomUniform([n], -1, 1, 1).AsParameter();
                Optimizer optimizer = Optimizers.Create(name);
                for (int step = 0; step < 3; step++)
                {
                    w.Grad = Tensor.RandomUniform([n], -1, 1, 10 + step);
                    optimizer.Step([w]);
                }
                w.ZeroGrad();
                Assert.That(w.Grad!.ToArray(), Is.All.Zero);
                return w.ToArray();
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        Assert.That(Run(2), Is.EqualTo(Run(1)).AsCollection);
    }
}

public class ParallelEmbeddingTests
{
    [Test]
    public void LargeGatherAndScatterAreIdenticalAtOneAndTwoThreads()
    {
        (float[] Y, float[] Grad) Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var rng = new Random(3);
                var ids = Tensor.Zeros(32, 200); // 6,400 positions × 64 = above the parallel threshold
                for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(50); // many repeats
                var table = Tensor.RandomUniform([50, 64], -1, 1, 4).AsParameter();
                Tensor y = Ops.Embedding(ids, table);
                Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform([32, 200, 64], -1, 1, 5))).Backward();
                return (y.ToArray(), table.Grad!.ToArray());
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        var one = Run(1);
        var two = Run(2);
        Assert.That(two.Y, Is.EqualTo(one.Y).AsCollection);
        Assert.That(two.Grad, Is.EqualTo(one.Grad).AsCollection);
    }
}
