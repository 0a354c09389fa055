using NanoNet.Memory;

namespace NanoNet.Layers;

/// <summary>
/// The mutable state of one run of a model's graph: the value table, the merge layers' argument lists,
/// which outputs were fused with their loss, the step's results, and the step memory the run rents from.
/// </summary>
/// <remarks>
/// A model owns one for training (reused every step: no allocation) and lends others from a small pool
/// to <c>Predict</c>, <c>Evaluate</c> and <c>Forward</c>, one per call, so many threads can run one
/// trained model at once without sharing anything mutable (the weights are only read).
/// </remarks>
internal sealed class GraphPass
{
    public GraphPass(int slots, GraphNode[] nodes, int outputs)
    {
        Values = new Tensor?[slots];
        Arguments = [.. nodes.Select(n => new Tensor[n.InputSlots.Length])];
        Results = [.. nodes.Select(n => new Tensor[n.OutputSlots.Length])];
        Fused = new ActivationFunction[outputs];
        Result = new StepResult(outputs);
        FoldedKernels = new Tensor?[nodes.Length];
        FoldedBiases = new Tensor?[nodes.Length];
    }

    /// <summary>Per node, this pass's kernel with a BatchNormalization folded in (made on first use, refilled every run; see <see cref="BatchNormFolding"/>).</summary>
    public Tensor?[] FoldedKernels { get; }

    /// <summary>Per node, this pass's bias with a BatchNormalization folded in.</summary>
    public Tensor?[] FoldedBiases { get; }

    /// <summary>One value per graph slot (inputs, then every node's output), filled as the graph runs.</summary>
    public Tensor?[] Values { get; }

    /// <summary>Per node, its reusable list of input values (used by merge layers and calls with several inputs).</summary>
    public Tensor[][] Arguments { get; }

    /// <summary>Per node, its reusable list of output values (used by calls with several outputs).</summary>
    public Tensor[][] Results { get; }

    /// <summary>Per output, the activation left for the loss to fuse (<see cref="ActivationFunction.Linear"/>: none).</summary>
    public ActivationFunction[] Fused { get; }

    /// <summary>The losses and correct counts of the last batch run with a loss.</summary>
    public StepResult Result { get; }

    /// <summary>Where this pass's activations, gradients and saved buffers live until the next step.</summary>
    public StepMemory Memory { get; } = new();

    /// <summary>A reusable one-element input list for one-input models.</summary>
    public Tensor[] OneInput { get; } = new Tensor[1];

    /// <summary>The (1, ...input shape) tensor single-sample <c>Predict</c> copies its sample into, made on first use.</summary>
    public Tensor? OneSample { get; set; }

    /// <summary>Drops the references to a finished run's tensors, so the pass keeps nothing alive.</summary>
    public void Forget()
    {
        Array.Clear(Values);
        OneInput[0] = null!;
        foreach (Tensor[] arguments in Arguments)
            Array.Clear(arguments);
        foreach (Tensor[] results in Results)
            Array.Clear(results);
    }
}

/// <summary>
/// Idle <see cref="GraphPass"/>es for inference, shared by the threads calling one model. Keeps at most
/// one per core (a burst of more concurrent callers gets extra passes that are dropped afterwards), so
/// the memory a serving model holds is bounded.
/// </summary>
internal sealed class GraphPassPool
{
    private readonly Stack<GraphPass> _idle = new();
    private readonly Func<GraphPass> _create;
    private readonly int _capacity = Environment.ProcessorCount;

    public GraphPassPool(Func<GraphPass> create) => _create = create;

    /// <summary>An idle pass, or a new one.</summary>
    public GraphPass Rent()
    {
        lock (_idle)
            if (_idle.Count > 0)
                return _idle.Pop();
        return _create();
    }

    /// <summary>Takes a pass back after its last step: its memory is released (and, beyond capacity, the pass is dropped).</summary>
    public void Return(GraphPass pass)
    {
        pass.Forget();
        pass.Memory.Release();
        lock (_idle)
            if (_idle.Count < _capacity)
                _idle.Push(pass);
    }

    /// <summary>Gives back the memory of every idle pass (they are rebuilt on demand).</summary>
    public void Trim()
    {
        lock (_idle)
            _idle.Clear();
    }
}
