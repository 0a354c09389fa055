using NanoNet.Diagnostics;

namespace NanoNet.Autograd;

/// <summary>
/// Define-by-run reverse-mode autograd: ops record what their backward pass needs as they run, and
/// <see cref="Backward"/> replays those records from the loss back to the parameters.
/// </summary>
/// <remarks>
/// <para>
/// <b>Recording.</b> An op whose input requires a gradient (<see cref="ShouldRecord(Tensor)"/>) calls
/// <see cref="Record(TapeEntry, Tensor)"/> with a <see cref="TapeEntry"/> and its inputs; the entry is attached to its output
/// (<see cref="Tensor.CreatedBy"/>) and numbered in recording order. There is no global list: the
/// records form a graph hanging off the tensors, so a forward pass whose result is dropped (inference
/// without <see cref="NoGrad"/>, a discarded branch) is garbage like any other object, and nothing grows
/// without bound. Memory for the tensors themselves is a separate concern (<see cref="Memory.StepMemory"/>).
/// </para>
/// <para>
/// <b>Replaying.</b> <see cref="Backward"/> collects the entries reachable from the loss through their
/// inputs, runs them in descending recording order (a later op can only use tensors made before it,
/// so this is a valid reverse topological order, and it is the same order at any thread count), and
/// marks them consumed: a second backward through the same graph throws instead of silently adding
/// nothing, unless the first one retained the graph.
/// </para>
/// <para>
/// <b>Seams.</b> <see cref="GradientReady"/> fires for each parameter as soon as its gradient is final
/// during a backward pass (a data-parallel trainer starts reducing it while backward goes on).
/// </para>
/// Recording state is per thread: each thread has its own <see cref="Current"/> tape and no-grad depth.
/// </remarks>
public sealed class Tape
{
    [ThreadStatic] private static Tape? t_current;
    [ThreadStatic] private static int t_noGradDepth;
    private static long s_sequence;

    private readonly List<TapeEntry> _order = [];
    private readonly Stack<TapeEntry> _pending = new();
    private int _pass;
    private bool _running;
    private bool _consuming;

    /// <summary>This thread's tape (what <see cref="Backward"/> runs on, and where <see cref="GradientReady"/> is raised).</summary>
    public static Tape Current => t_current ??= new Tape();

    /// <summary>
    /// Whether this thread is inside a backward pass that does not retain the graph: each op's backward then runs once
    /// and last, so it may overwrite what its forward saved (the LSTM writes its gate gradients over the saved gates).
    /// False outside a pass and in a pass with <c>retainGraph: true</c>, which a second pass goes through again.
    /// </summary>
    public static bool ConsumingGraph => t_current is { _running: true, _consuming: true };

    /// <summary>Whether ops record themselves (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsRecording => t_noGradDepth == 0;

    /// <summary>
    /// Raised during a backward pass on this thread once a parameter's gradient (a tensor marked with
    /// <see cref="Tensor.AsParameter"/>) is complete: no op still to run will add to it. Parameters the
    /// loss does not depend on are not reported.
    /// </summary>
    public event Action<Tensor>? GradientReady;

    /// <summary>
    /// A scope in which ops record nothing (inference, evaluation): <c>using (Tape.NoGrad()) { ... }</c>.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>True when an op with this input must record itself: recording is on and the input requires a gradient.</summary>
    public static bool ShouldRecord(Tensor a) => t_noGradDepth == 0 && a.RequiresGrad;

    /// <summary>True when an op with these inputs must record itself.</summary>
    public static bool ShouldRecord(Tensor a, Tensor b) => t_noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>True when an op with these inputs must record itself.</summary>
    public static bool ShouldRecord(Tensor a, Tensor b, Tensor c) => t_noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad || c.RequiresGrad);

    /// <summary>True when an op with these inputs must record itself.</summary>
    public static bool ShouldRecord(ReadOnlySpan<Tensor> inputs)
    {
        if (t_noGradDepth != 0)
            return false;
        foreach (Tensor input in inputs)
            if (input.RequiresGrad)
                return true;
        return false;
    }

    /// <summary>
    /// Records <paramref name="entry"/>, whose backward pass accumulates into the gradient of
    /// <paramref name="input"/>: the entry's output now requires a gradient and knows the entry that made
    /// it. Call it after the forward computation, only when <see cref="ShouldRecord(Tensor)"/> said so.
    /// </summary>
    public static void Record(TapeEntry entry, Tensor input) =>
        Record(entry, 1, NotNull(input), null, null, null);

    /// <summary>Records an op with two differentiable inputs; see <see cref="Record(TapeEntry, Tensor)"/>.</summary>
    public static void Record(TapeEntry entry, Tensor input0, Tensor input1) =>
        Record(entry, 2, NotNull(input0), NotNull(input1), null, null);

    /// <summary>Records an op with three differentiable inputs; see <see cref="Record(TapeEntry, Tensor)"/>.</summary>
    public static void Record(TapeEntry entry, Tensor input0, Tensor input1, Tensor input2) =>
        Record(entry, 3, NotNull(input0), NotNull(input1), NotNull(input2), null);

    /// <summary>Records an op with four differentiable inputs; see <see cref="Record(TapeEntry, Tensor)"/>.</summary>
    public static void Record(TapeEntry entry, Tensor input0, Tensor input1, Tensor input2, Tensor input3) =>
        Record(entry, 4, NotNull(input0), NotNull(input1), NotNull(input2), NotNull(input3));

    /// <summary>Records an op with any number of differentiable inputs (e.g. concatenation); see <see cref="Record(TapeEntry, Tensor)"/>.</summary>
    /// <remarks>Up to four inputs are held in the entry itself; only more than four take an array.</remarks>
    public static void Record(TapeEntry entry, ReadOnlySpan<Tensor> inputs)
    {
        foreach (Tensor input in inputs)
            NotNull(input);
        switch (inputs.Length)
        {
            case 1: Record(entry, 1, inputs[0], null, null, null); break;
            case 2: Record(entry, 2, inputs[0], inputs[1], null, null); break;
            case 3: Record(entry, 3, inputs[0], inputs[1], inputs[2], null); break;
            case 4: Record(entry, 4, inputs[0], inputs[1], inputs[2], inputs[3]); break;
            default:
                Tensor[] all = entry.InputArray(inputs.Length);
                inputs.CopyTo(all);
                Record(entry, inputs.Length, null, null, null, all);
                break;
        }
    }

    // rest: the fourth input (a Tensor) of a four-input op, or every input (a Tensor[]) of an op with more than four.
    private static void Record(TapeEntry entry, int count, Tensor? input0, Tensor? input1, Tensor? input2, object? rest)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Output is null)
            throw new InvalidOperationException($"{entry.OpName}: an entry made with the parameterless constructor has no output; create it with TapeEntry.Rent.");
        if (entry.Output.CreatedBy is not null)
            throw new InvalidOperationException($"{entry.OpName}: its output tensor was already produced by {entry.Output.CreatedBy.OpName}; every op needs a new output tensor.");
        entry.SetInputs(count, input0, input1, input2, rest);
        entry.Sequence = Interlocked.Increment(ref s_sequence);
        if (Profiler.Enabled)
            entry.Scope = Profiler.CurrentScope;
        entry.Output.RequiresGrad = true;
        entry.Output.CreatedBy = entry;
        foreach (Tensor output in entry.MoreOutputs) // an op with several outputs: each leads back to the same entry
        {
            if (output.CreatedBy is not null)
                throw new InvalidOperationException($"{entry.OpName}: an output tensor was already produced by {output.CreatedBy.OpName}; every op needs new output tensors.");
            output.RequiresGrad = true;
            output.CreatedBy = entry;
        }
    }

    private static Tensor NotNull(Tensor input, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(input))] string? name = null) =>
        input ?? throw new ArgumentNullException(name, "A recorded op's inputs must not be null.");

    /// <summary>Back-propagates from the scalar <paramref name="loss"/>; see <see cref="Tensor.Backward"/>.</summary>
    internal static void Backward(Tensor loss, bool retainGraph)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.Length != 1)
            throw new InvalidOperationException($"Backward() starts from a scalar loss, but the tensor has shape {Shapes.Format(loss.Shape)}.");
        if (!loss.RequiresGrad)
            throw new InvalidOperationException("Backward(): the loss does not depend on any tensor that requires a gradient (was it computed under Tape.NoGrad(), or from a detached tensor?).");
        TapeEntry? root = loss.GradientRoot.CreatedBy;
        if (root is null)
        {
            loss.EnsureGrad().Span[0] += 1f; // the loss is itself a leaf: ∂loss/∂loss = 1
            return;
        }
        Current.Run(loss, root, retainGraph);
    }

    private void Run(Tensor loss, TapeEntry root, bool retainGraph)
    {
        if (_running)
            throw new InvalidOperationException("Backward() was called from inside a backward pass.");
        _running = true;
        _consuming = !retainGraph;
        try
        {
            int pass = ++_pass;
            CollectReachable(root, pass);
            _order.Sort(s_laterFirst); // a cached delegate: Sort(IComparer) would allocate one per call

            // Gradients of intermediate tensors start from zero (they hold a previous pass's values only
            // when that pass retained the graph); then seed ∂loss/∂loss = 1.
            foreach (TapeEntry entry in _order)
            {
                entry.Output.Grad?.Span.Clear();
                foreach (Tensor more in entry.MoreOutputs)
                    more.Grad?.Span.Clear();
            }
            loss.EnsureGrad().Span.Fill(1f);

            Action<Tensor>? ready = GradientReady;
            if (ready is not null)
                MarkLastUses(pass);

            for (int position = 0; position < _order.Count; position++)
            {
                TapeEntry entry = _order[position];
                Tensor? dY = entry.Output.Grad;
                if (dY is null && entry.MoreOutputsHaveGradient)
                    dY = entry.Output.EnsureGrad(); // the loss uses only the op's other outputs: the main one's gradient is zero
                if (dY is not null)
                {
                    long started = Profiler.Start();
                    entry.Backward(dY);
                    if (started != 0)
                        Profiler.StopIn(entry.Scope, entry.OpName, started, entry.BackwardFlops, backward: true, entry.BackwardBytes);
                }
                if (ready is not null)
                    ReportReady(entry, pass, position, ready);
            }
            if (!retainGraph)
                foreach (TapeEntry entry in _order)
                    entry.Consumed = true;
        }
        finally
        {
            _order.Clear();
            _pending.Clear();
            _running = false;
            _consuming = false;
        }
    }

    /// <summary>Depth-first walk from the loss's entry through every input's producing entry.</summary>
    private void CollectReachable(TapeEntry root, int pass)
    {
        root.VisitedPass = pass;
        _pending.Push(root);
        while (_pending.Count > 0)
        {
            TapeEntry entry = _pending.Pop();
            if (entry.Consumed)
                throw new InvalidOperationException(
                    $"Backward() reached op '{entry.OpName}' (output {Shapes.Format(entry.Output.Shape)}) whose graph an earlier Backward() already consumed. " +
                    "Pass retainGraph: true to the first Backward() to go through it again, or run the forward pass again.");
            _order.Add(entry);
            for (int i = 0; i < entry.InputCount; i++)
            {
                TapeEntry? producer = entry.GetInput(i).GradientRoot.CreatedBy;
                if (producer is not null && producer.VisitedPass != pass)
                {
                    producer.VisitedPass = pass;
                    _pending.Push(producer);
                }
            }
        }
    }

    /// <summary>For every parameter, remembers the last position in the run order that adds to its gradient.</summary>
    private void MarkLastUses(int pass)
    {
        for (int position = 0; position < _order.Count; position++)
        {
            TapeEntry entry = _order[position];
            for (int i = 0; i < entry.InputCount; i++)
            {
                Tensor owner = entry.GetInput(i).GradientRoot;
                if (owner.IsParameter)
                {
                    owner.ReadyPass = pass;
                    owner.ReadyAfter = position;
                }
            }
        }
    }

    private static void ReportReady(TapeEntry entry, int pass, int position, Action<Tensor> ready)
    {
        for (int i = 0; i < entry.InputCount; i++)
        {
            Tensor owner = entry.GetInput(i).GradientRoot;
            if (owner.IsParameter && owner.ReadyPass == pass && owner.ReadyAfter == position && owner.RequiresGrad)
            {
                owner.ReadyAfter = -1; // once, even if the entry uses it twice
                ready(owner);
            }
        }
    }

    /// <summary>Orders entries by descending recording number.</summary>
    private static readonly Comparison<TapeEntry> s_laterFirst = (x, y) => y.Sequence.CompareTo(x.Sequence);

    /// <summary>Ends a no-grad scope.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        /// <summary>Leaves the scope.</summary>
        public void Dispose() => t_noGradDepth--;
    }
}
