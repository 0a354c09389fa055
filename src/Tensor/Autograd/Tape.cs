using NanoNet.Diagnostics;
using NanoNet.Memory;

namespace NanoNet.Autograd;

/// <summary>
/// The define-by-run record of differentiable operations, in the order they ran.
/// </summary>
/// <remarks>
/// Each op that has an input requiring a gradient appends a <see cref="TapeEntry"/> holding what its
/// backward pass needs. <see cref="Backward"/> seeds ∂loss/∂loss = 1 and runs the entries in reverse
/// order (a valid topological order, since an entry can only use tensors created before it), each
/// accumulating into its inputs' gradients, and then forgets the entries.
/// <para>Storage: when <see cref="UsePool"/> is on (the training loop turns it on), op outputs and
/// their gradients are rented from per-tape pools instead of the garbage-collected heap, and
/// <see cref="Clear"/> takes them all back. Such tensors are valid until the next <see cref="Clear"/>
/// (the training loop calls it at the start of each step), so a steady training step allocates no new
/// storage. With <see cref="UsePool"/> off (the default) every tensor is an ordinary array.</para>
/// Every thread has its own current tape.
/// </remarks>
public sealed class Tape
{
    [ThreadStatic] private static Tape? t_current;
    [ThreadStatic] private static int t_noGradDepth;

    private readonly List<TapeEntry> _entries = [];
    private readonly BufferPool<float> _floats = new();
    private readonly BufferPool<int> _ints = new();
    private readonly List<Tensor> _rentedTensors = [];
    private readonly Stack<Tensor> _freeTensors = new();
    private readonly Dictionary<(int, int, int, int), int[]> _shapes = [];

    /// <summary>This thread's tape.</summary>
    public static Tape Current => t_current ??= new Tape();

    /// <summary>Whether ops record themselves (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsRecording => t_noGradDepth == 0;

    /// <summary>Number of entries recorded since the last backward pass or <see cref="Clear"/>.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// A scope in which ops record nothing (inference, evaluation): <c>using (Tape.NoGrad()) { ... }</c>.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>True when an op with these inputs must record itself.</summary>
    internal static bool ShouldRecord(Tensor a) => t_noGradDepth == 0 && a.RequiresGrad;

    internal static bool ShouldRecord(Tensor a, Tensor b) => t_noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>
    /// Whether op outputs and their gradients come from this tape's pools (valid until <see cref="Clear"/>).
    /// </summary>
    public bool UsePool { get; set; }

    /// <summary>A tensor for an op's output: pooled when <see cref="UsePool"/> is on, zero-filled only when asked.</summary>
    internal Tensor NewTensor(int[] shape, bool zeroed)
    {
        int length = Shapes.Product(shape);
        if (!UsePool)
            return new Tensor(zeroed ? new float[length] : GC.AllocateUninitializedArray<float>(length), 0, shape);
        return NewView(_floats.Rent(length, zeroed), 0, shape, gradientOwner: null);
    }

    /// <summary>A pooled tensor object over existing (pooled) storage: the tensor objects are recycled too.</summary>
    internal Tensor NewView(float[] storage, int offset, int[] shape, Tensor? gradientOwner)
    {
        Tensor tensor;
        if (_freeTensors.Count > 0)
        {
            tensor = _freeTensors.Pop();
            tensor.Reinitialize(storage, offset, shape, gradientOwner);
        }
        else
        {
            tensor = new Tensor(storage, offset, shape);
            tensor.Reinitialize(storage, offset, shape, gradientOwner);
        }
        _rentedTensors.Add(tensor);
        return tensor;
    }

    /// <summary>
    /// The shape (d0, d1, ...) as a shared array, so ops do not allocate one per call. Shape arrays are
    /// never mutated, so sharing them is safe.
    /// </summary>
    internal int[] Shape(int d0, int d1 = -1, int d2 = -1, int d3 = -1)
    {
        var key = (d0, d1, d2, d3);
        if (!_shapes.TryGetValue(key, out int[]? shape))
        {
            shape = d1 < 0 ? [d0] : d2 < 0 ? [d0, d1] : d3 < 0 ? [d0, d1, d2] : [d0, d1, d2, d3];
            _shapes[key] = shape;
        }
        return shape;
    }

    /// <summary>An int buffer (e.g. pooling's argmax) with the same lifetime rules as <see cref="NewTensor"/>.</summary>
    internal int[] NewInts(int length) => UsePool ? _ints.Rent(length, clear: false) : new int[length];

    /// <summary>Appends an entry and marks its output as requiring a gradient.</summary>
    internal void Record(TapeEntry entry)
    {
        entry.Output.RequiresGrad = true;
        if (Profiler.Enabled)
            entry.Scope = Profiler.CurrentScope;
        _entries.Add(entry);
    }

    /// <summary>Back-propagates from the scalar <paramref name="loss"/>, then clears the tape.</summary>
    public void Backward(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.Length != 1)
            throw new InvalidOperationException($"Backward() starts from a scalar loss, but the tensor has shape {Shapes.Format(loss.Shape)}.");
        if (!loss.RequiresGrad)
            throw new InvalidOperationException("Backward(): the loss does not depend on any tensor that requires a gradient (was it computed under Tape.NoGrad()?).");
        loss.EnsureGrad().Span.Fill(1f);
        try
        {
            for (int i = _entries.Count - 1; i >= 0; i--)
            {
                TapeEntry entry = _entries[i];
                if (entry.Output.Grad is null)
                    continue;
                long started = Profiler.Start();
                entry.Backward(entry.Output.Grad);
                if (started != 0)
                    Profiler.StopIn(entry.Scope, entry.OpName, started, entry.BackwardFlops, backward: true);
            }
        }
        finally
        {
            _entries.Clear();
        }
    }

    /// <summary>
    /// Forgets every recorded entry and takes back all pooled storage handed out since the last call:
    /// tensors created while <see cref="UsePool"/> was on must not be used afterwards.
    /// </summary>
    public void Clear()
    {
        _entries.Clear();
        _floats.ReturnAll();
        _ints.ReturnAll();
        foreach (Tensor tensor in _rentedTensors)
            _freeTensors.Push(tensor);
        _rentedTensors.Clear();
    }

    /// <summary>Ends a no-grad scope.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Leaves the scope.</summary>
        public void Dispose() => t_noGradDepth--;
    }
}

/// <summary>
/// One recorded op: its output and what it needs to push the output's gradient back to its inputs.
/// </summary>
public abstract class TapeEntry
{
    /// <summary>Creates an entry for <paramref name="output"/>.</summary>
    protected TapeEntry(Tensor output) => Output = output;

    /// <summary>The tensor the op produced.</summary>
    public Tensor Output { get; }

    /// <summary>The op's name for the profiler (the entry type's name without "Entry").</summary>
    public virtual string OpName => GetType().Name.Replace("Entry", "", StringComparison.Ordinal);

    /// <summary>Floating-point operations of <see cref="Backward"/>, for the profiler's GFLOP/s (0 when not meaningful).</summary>
    public virtual double BackwardFlops => 0;

    /// <summary>The profiler scope (layer) that was current when the op ran.</summary>
    internal string? Scope { get; set; }

    /// <summary>Accumulates ∂loss/∂input into each input that requires a gradient, given dY = ∂loss/∂output.</summary>
    public abstract void Backward(Tensor dY);
}
