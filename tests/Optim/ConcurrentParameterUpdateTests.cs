using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// The built-in optimizers update many small parameters in one region, each worker taking whole parameters
/// (Optimizer.ConcurrentUpdates.cs): the same bits as one thread, the same first non-finite parameter reported, and custom
/// updates kept on the calling thread.
/// </summary>
public class ConcurrentParameterUpdateTests
{
    /// <summary>
    /// An embedding table whose gradient touched a few rows, small dense parameters of several sizes and one big enough to
    /// be split by the fused update itself, three steps of every optimizer: weights and states at 2 and 3 threads equal
    /// one thread's bit for bit, and at 2 threads the small ones really ran in a 2-worker region.
    /// </summary>
    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void ManySmallParametersUpdateAsOnOneThread(Func<Optimizer> create)
    {
        (float[][] Weights, float[][] States) one = Train(create, 1, out _), two = Train(create, 2, out _), three = Train(create, 3, out _);
        Train(create, 2, out int widest, bigParameter: false);
        Assert.That(widest, Is.EqualTo(2), "the small parameters' update ran in one region of two workers");
        for (int p = 0; p < one.Weights.Length; p++)
        {
            Assert.That(two.Weights[p], Is.EqualTo(one.Weights[p]).AsCollection, $"parameter {p}, 2 threads");
            Assert.That(three.Weights[p], Is.EqualTo(one.Weights[p]).AsCollection, $"parameter {p}, 3 threads");
        }
        for (int s = 0; s < one.States.Length; s++)
        {
            Assert.That(two.States[s], Is.EqualTo(one.States[s]).AsCollection, $"state buffer {s}, 2 threads");
            Assert.That(three.States[s], Is.EqualTo(one.States[s]).AsCollection, $"state buffer {s}, 3 threads");
        }
    }

    /// <summary>Lazy Adam, SGD and Adagrad update only an embedding's touched rows: those run on the caller, beside the rest.</summary>
    [TestCase("lazy adam")]
    [TestCase("sgd")]
    [TestCase("adagrad")]
    public void TouchedRowUpdatesRunBesideTheDenseOnes(string name)
    {
        Func<Optimizer> create = name switch
        {
            "lazy adam" => () => new Adam(0.01f, lazy: true),
            "adagrad" => () => new Adagrad(0.1f),
            _ => () => new Sgd(0.1f),
        };
        var one = Train(create, 1, out _);
        var two = Train(create, 2, out _);
        Train(create, 2, out int widest, bigParameter: false);
        Assert.That(widest, Is.EqualTo(2));
        for (int p = 0; p < one.Weights.Length; p++)
            Assert.That(two.Weights[p], Is.EqualTo(one.Weights[p]).AsCollection, $"parameter {p}");
        for (int s = 0; s < one.States.Length; s++)
            Assert.That(two.States[s], Is.EqualTo(one.States[s]).AsCollection, $"state buffer {s}");
    }

    /// <summary>A NaN in one small parameter's gradient and an infinity in a later one: the earlier is named at any thread
    /// count, whichever worker updated it (the larger first: the region takes them in the other order), and the step still
    /// updated every parameter (as one thread does).</summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void TheFirstNonFiniteParameterIsReportedAtAnyThreadCount(int threads)
    {
        using var limit = Parallelism.LimitThreads(threads);
        Tensor[] parameters = [.. Enumerable.Range(0, 6).Select(p => Tensor.RandomUniform([23000 - 4000 * p], -1, 1, p + 1).AsParameter())];
        for (int p = 0; p < parameters.Length; p++)
        {
            parameters[p].Name = $"p{p}";
            parameters[p].Grad = Tensor.RandomUniform([parameters[p].Length], -1, 1, p + 20);
        }
        parameters[2].Grad![17] = float.NaN;
        parameters[4].Grad![3] = float.PositiveInfinity;
        float before = parameters[5][0];
        var error = Assert.Throws<NonFiniteGradientException>(() => new Sgd(0.1f).Step(parameters))!;
        Assert.That(error.Parameter, Is.SameAs(parameters[2]));
        Assert.That(parameters[5][0], Is.Not.EqualTo(before), "the other parameters were updated");
    }

    /// <summary>An optimizer of the user's own (or a subclass of a built-in that overrides <c>Update</c>) updates on the
    /// calling thread only: its code may not be safe on two threads at once.</summary>
    [Test]
    public void CustomUpdatesRunOnTheCallingThread()
    {
        using var limit = Parallelism.LimitThreads(2);
        Tensor[] parameters = [.. Enumerable.Range(0, 5).Select(p => Tensor.RandomUniform([20000], -1, 1, p + 1).AsParameter())];
        foreach (Optimizer optimizer in new Optimizer[] { new RecordingOptimizer(), new RecordingAdam() })
        {
            foreach (Tensor parameter in parameters)
                parameter.Grad = Tensor.Ones(parameter.Length);
            optimizer.Step(parameters);
            var threads = optimizer is RecordingOptimizer own ? own.Threads : ((RecordingAdam)optimizer).Threads;
            Assert.That(threads, Has.Count.EqualTo(parameters.Length));
            Assert.That(threads, Is.All.EqualTo(Environment.CurrentManagedThreadId), optimizer.GetType().Name);
        }
    }

    private sealed class RecordingOptimizer() : Optimizer(0.1f, [])
    {
        public List<int> Threads { get; } = [];

        protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform)
        {
            lock (Threads)
                Threads.Add(Environment.CurrentManagedThreadId);
            for (int i = 0; i < weights.Length; i++)
                weights[i] -= learningRate * gradient[i];
        }
    }

    private sealed class RecordingAdam() : Adam(0.01f)
    {
        public List<int> Threads { get; } = [];

        protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform)
        {
            lock (Threads)
                Threads.Add(Environment.CurrentManagedThreadId);
            base.Update(weights, gradient, state, learningRate, transform);
        }
    }

    /// <summary>
    /// Three steps at <paramref name="threads"/> threads: a 300×16 embedding table (its gradient from a backward pass over a
    /// few ids, so only those rows are touched), five small dense parameters and (<paramref name="bigParameter"/>) one of
    /// 2^18 + 5 elements. Returns every parameter's weights, every state buffer, and the widest region the last step's update
    /// started.
    /// </summary>
    private static (float[][] Weights, float[][] States) Train(Func<Optimizer> create, int threads, out int widestUpdateRegion, bool bigParameter = true)
    {
        using var limit = Parallelism.LimitThreads(threads);
        var table = Tensor.RandomUniform([300, 16], -1, 1, 1).AsParameter();
        table.Name = "table";
        int[] sizes = bigParameter ? [12_000, 777, 40_000, 5, 20_000, (1 << 18) + 5] : [12_000, 777, 40_000, 5, 20_000];
        Tensor[] dense = [.. sizes.Select((n, p) => Tensor.RandomUniform([n], -1, 1, p + 2).AsParameter())];
        for (int p = 0; p < dense.Length; p++)
            dense[p].Name = $"dense{p}";
        Tensor[] parameters = [dense[0], table, .. dense[1..]];
        Optimizer optimizer = create();
        widestUpdateRegion = 0;
        for (int step = 0; step < 3; step++)
        {
            table.ZeroGrad();
            var ids = Tensor.Zeros(4, 5);
            for (int i = 0; i < ids.Length; i++)
                ids[i] = (i * 37 + step * 11) % 300;
            Ops.Sum(Ops.Multiply(Ops.Embedding(ids, table), Tensor.RandomUniform([4, 5, 16], -1, 1, step + 50))).Backward();
            for (int p = 0; p < dense.Length; p++)
                dense[p].Grad = Tensor.RandomUniform([dense[p].Length], -1, 1, 100 * step + p);
            Parallelism.ResetWidestRegion();
            optimizer.Step(parameters);
            widestUpdateRegion = Parallelism.WidestRegion;
        }
        return ([.. parameters.Select(p => p.ToArray())], [.. optimizer.GetState().Select(s => s.Values.ToArray())]);
    }
}
