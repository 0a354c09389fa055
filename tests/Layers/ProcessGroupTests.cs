using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Tests.Optim;

namespace NanoNet.Tests.Layers;

/// <summary>
/// The core's data-parallel seams without MPI: <see cref="Model.ProcessGroup"/> (sharded batches, summed
/// epoch metrics) and <see cref="Optimizer.GradientReducer"/>, with two "processes" as two threads that
/// sum through shared memory. Two of them with batch B train as one model with batch 2B.
/// </summary>
public class ProcessGroupTests
{
    /// <summary>Threads standing in for processes: each collective publishes, meets the others, and sums in rank order.</summary>
    private sealed class ThreadGroup(int size)
    {
        private readonly Barrier _barrier = new(size);
        private readonly double[]?[] _published = new double[size][];

        public double[] Sum(int rank, double[] values)
        {
            _published[rank] = values;
            _barrier.SignalAndWait();
            var sum = new double[values.Length];
            for (int r = 0; r < size; r++)          // fixed order: the same sum on every member
                for (int i = 0; i < sum.Length; i++)
                    sum[i] += _published[r]![i];
            _barrier.SignalAndWait();               // nobody republishes before all have read
            return sum;
        }
    }

    private sealed class Member(ThreadGroup group, int rank, int size) : IProcessGroup, IGradientReducer
    {
        public int Rank => rank;
        public int Size => size;

        public void SumAcrossProcesses(Span<double> values) => group.Sum(rank, values.ToArray()).CopyTo(values);

        public void Reduce(IReadOnlyList<Tensor> parameters)
        {
            double[] flat = [.. parameters.SelectMany(p => p.Grad!.Span.ToArray().Select(g => (double)g))];
            double[] sum = group.Sum(rank, flat);
            int offset = 0;
            foreach (Tensor parameter in parameters)
            {
                Span<float> gradient = parameter.Grad!.Span;
                for (int i = 0; i < gradient.Length; i++)
                    gradient[i] = (float)(sum[offset++] / size);
            }
        }

        public void SumTouchedRows(Span<float> touchedRows)
        {
            double[] sum = group.Sum(rank, [.. touchedRows.ToArray().Select(t => (double)t)]);
            for (int i = 0; i < touchedRows.Length; i++)
                touchedRows[i] = (float)sum[i];
        }
    }

    private static Sequential NewModel()
    {
        var model = new Sequential([6], new Dense(8, ActivationFunction.Relu), new Dense(3, ActivationFunction.Softmax)) { MaxThreads = 1 };
        model.Compile(new Momentum(0.1f), new SparseCategoricalCrossEntropy(), seed: 4);
        return model;
    }

    private static Dataset Data()
    {
        var random = new Random(2);
        const int rows = 96;
        float[] x = [.. Enumerable.Range(0, rows * 6).Select(_ => (float)random.NextDouble() * 2 - 1)];
        float[] y = [.. Enumerable.Range(0, rows).Select(i => (float)(((x[6 * i] > 0 ? 1 : 0) + (x[6 * i + 1] > 0.3f ? 1 : 0)) % 3))];
        return new Dataset(Tensor.FromArray(x, rows, 6), Tensor.FromArray(y, rows));
    }

    [Test]
    public void TwoThreadProcessesWithBatchBTrainAsOneModelWithBatch2B()
    {
        Dataset data = Data();
        Sequential single = NewModel();
        TrainingHistory expected = single.Fit(data, batchSize: 16, epochs: 3, seed: 9, verbose: 0);

        var group = new ThreadGroup(2);
        var models = new Sequential[2];
        var histories = new TrainingHistory[2];
        Thread[] threads = [.. Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            Sequential model = NewModel();
            var member = new Member(group, rank, 2);
            model.ProcessGroup = member;
            model.Optimizer!.GradientReducer = member;
            histories[rank] = model.Fit(data, batchSize: 8, epochs: 3, seed: 9, verbose: 0);
            models[rank] = model;
        }))];
        foreach (Thread thread in threads) thread.Start();
        foreach (Thread thread in threads) Assert.That(thread.Join(TimeSpan.FromSeconds(60)), Is.True, "a member hung");

        for (int w = 0; w < single.Weights.Count; w++)
        {
            float[] one = single.Weights[w].Span.ToArray(), rank0 = models[0].Weights[w].Span.ToArray(), rank1 = models[1].Weights[w].Span.ToArray();
            Assert.That(rank1.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(rank0.Select(BitConverter.SingleToInt32Bits)), $"{single.Weights[w].Name}: members agree bitwise");
            Assert.That(rank0, Is.EqualTo(one).Within(1e-5f), $"{single.Weights[w].Name}: 2 × 8 against 1 × 16");
        }
        for (int e = 0; e < 3; e++)
        {
            EpochMetrics global = expected.Epochs[e], member0 = histories[0].Epochs[e], member1 = histories[1].Epochs[e];
            Assert.That(member0.Loss, Is.EqualTo(global.Loss).Within(1e-5f), $"epoch {e + 1}: the reported loss is the global one");
            Assert.That(member0.Accuracy, Is.EqualTo(global.Accuracy), $"epoch {e + 1}: the reported accuracy is the global one");
            Assert.That(member1.Loss, Is.EqualTo(member0.Loss), $"epoch {e + 1}: every member reports the same");
        }
        Assert.That(models[0].Optimizer!.Iterations, Is.EqualTo(single.Optimizer!.Iterations));
    }

    [Test]
    public void LazyAdamUpdatesARowOnEveryMemberIffAnyMemberTouchedIt()
    {
        // Table of 6 rows × 2. Step 1: member 0 touches rows 1 and 3, member 1 rows 2 and 3. Step 2: member 0 touches
        // row 3 with g, member 1 row 3 with −g (the mean is exactly 0, yet row 3 was touched: its moments decay and it
        // moves), and member 1 alone touches row 4. Reference: one optimizer given the mean gradient and the union of rows.
        (int Row, float[] Values)[][][] steps =
        [
            [[(1, [0.5f, -1f]), (3, [2f, 0.25f])], [(2, [1.5f, 0.75f]), (3, [-1f, 0.5f])]],
            [[(3, [0.5f, -0.25f])], [(3, [-0.5f, 0.25f]), (4, [1f, 2f])]],
        ];
        static Tensor Table() => Tensor.FromArray([.. Enumerable.Range(0, 12).Select(i => 0.1f * i)], 6, 2).AsParameter("table");

        var group = new ThreadGroup(2);
        var tables = new Tensor[2];
        var afterFirstStep = new float[2][];
        Thread[] threads = [.. Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            Tensor table = Table();
            var adam = new Adam(0.1f, lazy: true) { GradientReducer = new Member(group, rank, 2) };
            foreach ((int Row, float[] Values)[][] step in steps)
            {
                LazyOptimizerTests.SetRowGradients(table, step[rank]);
                adam.Step([table]);
                afterFirstStep[rank] ??= table.ToArray();
            }
            tables[rank] = table;
        }))];
        foreach (Thread thread in threads) thread.Start();
        foreach (Thread thread in threads) Assert.That(thread.Join(TimeSpan.FromSeconds(60)), Is.True, "a member hung");

        Tensor reference = Table();
        var single = new Adam(0.1f, lazy: true);
        foreach ((int Row, float[] Values)[][] step in steps)
        {
            var mean = step.SelectMany(rows => rows).GroupBy(r => r.Row).OrderBy(g => g.Key)
                .Select(g => (g.Key, new[] { g.Sum(r => r.Values[0]) / 2, g.Sum(r => r.Values[1]) / 2 })).ToArray();
            LazyOptimizerTests.SetRowGradients(reference, mean);
            single.Step([reference]);
        }

        int[] Bits(Tensor t) => [.. t.ToArray().Select(BitConverter.SingleToInt32Bits)];
        Assert.That(Bits(tables[1]), Is.EqualTo(Bits(tables[0])), "members agree bitwise");
        Assert.That(Bits(tables[0]), Is.EqualTo(Bits(reference)), "as one process with the mean gradient and the union of rows");
        Assert.That(tables[0][3, 0], Is.Not.EqualTo(afterFirstStep[0][6]), "row 3, touched with a zero mean gradient, moved");
        Tensor start = Table();
        Assert.That(tables[0][4, 0], Is.Not.EqualTo(start[4, 0]), "row 4, touched by member 1 only, moved on member 0 too");
        Assert.That(Bits(tables[0])[10..], Is.EqualTo(Bits(start)[10..]), "row 5, touched by nobody, did not move");
        Assert.That(Bits(tables[0])[..2], Is.EqualTo(Bits(start)[..2]), "row 0, touched by nobody, did not move");
    }
}
