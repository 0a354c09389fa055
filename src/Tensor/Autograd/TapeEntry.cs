namespace NanoNet.Autograd;

/// <summary>
/// One recorded op: its output, the inputs gradients can flow into, and its backward pass. Every
/// differentiable op, built-in or yours, is a forward function plus one of these.
/// </summary>
/// <remarks>
/// <para>Writing an op (the built-in ones under <c>Ops/</c> are written exactly like this):</para>
/// <code>
/// public static Tensor Cube(Tensor x)
/// {
///     Tensor y = Tensor.EmptyLike(x);                  // step memory during training, heap otherwise
///     for (int i = 0; i &lt; x.Length; i++)
///         y[i] = x[i] * x[i] * x[i];
///     if (Tape.ShouldRecord(x))                        // recording on, and x needs a gradient
///         Tape.Record(new CubeBackward(y, x), x);      // the entry, then the inputs gradients flow to
///     return y;
/// }
///
/// sealed class CubeBackward(Tensor y, Tensor x) : TapeEntry(y)
/// {
///     public override void Backward(Tensor dY)         // dY = ∂loss/∂y, same shape as y
///     {
///         Span&lt;float&gt; dX = x.EnsureGrad().Span;        // accumulate: x may feed other ops too
///         for (int i = 0; i &lt; dX.Length; i++)
///             dX[i] += dY[i] * 3 * x[i] * x[i];
///     }
/// }
/// </code>
/// <para>Rules: <see cref="Backward"/> <i>adds</i> into each input's gradient (never overwrites it), only
/// for inputs that <see cref="Tensor.RequiresGrad"/>; it may read anything the forward pass saved (the
/// entry holds it); and the inputs given to <see cref="Tape.Record(TapeEntry, Tensor)"/> must be every
/// tensor whose gradient it touches, because backward finds the ops to run by following inputs from the loss.</para>
/// <para>
/// <b>Recycled entries.</b> An op called at every training step can take its entry from <see cref="Rent{T}"/> instead of
/// <c>new</c>: the entry class has a parameterless constructor and sets its own fields after renting (the built-in ops
/// called at every step do this, so a steady step allocates no entries). See <see cref="Rent{T}"/>.
/// </para>
/// </remarks>
public abstract class TapeEntry
{
    // The inputs: up to three inline (most ops); a fourth in _rest, or all of them in an array (_rest) when there are
    // more than four. Kept lean: a four-input op (the recurrent ops) needs no array.
    private Tensor? _input0, _input1, _input2;
    private object? _rest;

    /// <summary>Creates the entry of an op that produced <paramref name="output"/>; <see cref="Tape.Record(TapeEntry, Tensor)"/> adds its inputs.</summary>
    protected TapeEntry(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Output = output;
    }

    /// <summary>Creates a blank entry for <see cref="Rent{T}"/>, which sets its <see cref="Output"/>.</summary>
    protected TapeEntry() => Output = null!;

    /// <summary>
    /// An entry of type <typeparamref name="T"/> for the op that produced <paramref name="output"/>, with its inputs not
    /// yet recorded: a recycled one when <paramref name="output"/> was rented from a <see cref="Memory.StepMemory"/>,
    /// else a new one. The caller sets the entry's own fields, then passes it to <see cref="Tape.Record(TapeEntry, Tensor)"/>.
    /// </summary>
    /// <remarks>
    /// A recycled entry lives exactly as long as its output tensor: the step memory takes it back with the tensor (at
    /// the next <see cref="Memory.StepMemory.Release"/>, after the same one-step quarantine) and hands it out again to a
    /// later call of the same op, with the base state (inputs, recording order) cleared. So the entry class must not keep
    /// anything from one use to the next: every field it reads in <see cref="Backward"/> is set again after renting.
    /// </remarks>
    protected static T Rent<T>(Tensor output) where T : TapeEntry, new()
    {
        ArgumentNullException.ThrowIfNull(output);
        T entry = output.LiveStepMemory is { } memory ? memory.RentEntry<T>() : new T();
        entry.Output = output;
        return entry;
    }

    /// <summary>
    /// Copies <paramref name="values"/> (a call's small per-axis argument: offsets, paddings) into an entry's own array
    /// <paramref name="kept"/>, which a recycled entry keeps for its next use: a new array only when the length changes.
    /// </summary>
    protected static void KeepCopy(ref int[] kept, ReadOnlySpan<int> values)
    {
        if (kept.Length != values.Length)
            kept = new int[values.Length];
        values.CopyTo(kept);
    }

    /// <summary>Clears the base state of a recycled entry (see <see cref="Rent{T}"/>): inputs, output, recording order.</summary>
    internal void ClearForReuse()
    {
        if (_rest is Tensor[] inputs) // kept for the next use's inputs (see InputArray), without this use's tensors
        {
            Array.Clear(inputs);
            _spareInputs = inputs;
        }
        if (_moreOutputs is not null)
            Array.Clear(_moreOutputs);
        _moreOutputCount = 0;
        (_input0, _input1, _input2, _rest) = (null, null, null, null);
        InputCount = 0;
        Sequence = 0;
        VisitedPass = 0;
        Output = null!;
        Scope = null;
    }

    /// <summary>
    /// Creates the entry of an op with several outputs (a recurrent op returning its final states): the main
    /// <paramref name="output"/>, whose gradient <see cref="Backward"/> receives, and <paramref name="moreOutputs"/>, whose
    /// gradients (<see cref="Tensor.Grad"/>, null where the loss does not use them) the entry reads itself.
    /// </summary>
    /// <remarks>
    /// The tape runs the entry when the loss depends on any of its outputs; when it depends on the others only,
    /// <see cref="Backward"/> gets a zero gradient for the main output.
    /// </remarks>
    protected TapeEntry(Tensor output, Tensor[] moreOutputs) : this(output)
    {
        ArgumentNullException.ThrowIfNull(moreOutputs);
        foreach (Tensor more in moreOutputs)
            ArgumentNullException.ThrowIfNull(more, nameof(moreOutputs));
        _moreOutputs = moreOutputs;
        _moreOutputCount = moreOutputs.Length;
    }

    // The outputs after Output: the constructor's array, or, in a rented entry, an array of two the entry keeps from one
    // use to the next (SetMoreOutputs), so a recycled multi-output entry allocates nothing either.
    private Tensor[]? _moreOutputs;
    private int _moreOutputCount;

    // A rented entry's array of more than four inputs, kept from its last use for the next (see InputArray).
    private Tensor[]? _spareInputs;

    /// <summary>
    /// Sets the outputs after <see cref="Output"/> of an entry taken from <see cref="Rent{T}"/> (the counterpart of the
    /// constructor's <c>moreOutputs</c>): none when <paramref name="first"/> is null, else <paramref name="first"/> and,
    /// unless null, <paramref name="second"/>. Call it before <see cref="Tape.Record(TapeEntry, Tensor)"/>.
    /// </summary>
    protected void SetMoreOutputs(Tensor? first, Tensor? second = null)
    {
        if (_moreOutputCount != 0 || InputCount != 0)
            throw new InvalidOperationException($"{OpName}: the more outputs are set once, before the entry is recorded.");
        if (first is null)
            return;
        _moreOutputs ??= new Tensor[2];
        _moreOutputs[0] = first;
        _moreOutputCount = 1;
        if (second is not null)
        {
            _moreOutputs[1] = second;
            _moreOutputCount = 2;
        }
    }

    /// <summary>An array for <paramref name="count"/> (more than four) inputs: the one this recycled entry held last time when it fits, else a new one.</summary>
    internal Tensor[] InputArray(int count)
    {
        Tensor[]? spare = _spareInputs;
        _spareInputs = null;
        return spare is not null && spare.Length == count ? spare : new Tensor[count];
    }

    /// <summary>The op's outputs after <see cref="Output"/> (empty for the usual one-output op).</summary>
    public ReadOnlySpan<Tensor> MoreOutputs => new(_moreOutputs, 0, _moreOutputCount);

    /// <summary>Whether the loss reached an output other than <see cref="Output"/> (one of them has a gradient).</summary>
    internal bool MoreOutputsHaveGradient
    {
        get
        {
            foreach (Tensor more in MoreOutputs)
                if (more.Grad is not null)
                    return true;
            return false;
        }
    }

    /// <summary>Sets the differentiable inputs (called once, by <see cref="Tape.Record(TapeEntry, Tensor)"/>).</summary>
    internal void SetInputs(int count, Tensor? input0, Tensor? input1, Tensor? input2, object? rest)
    {
        if (InputCount != 0 || Sequence != 0)
            throw new InvalidOperationException($"{OpName}: this entry was already recorded; every op call records a new entry.");
        InputCount = count;
        (_input0, _input1, _input2, _rest) = (input0, input1, input2, rest);
    }

    /// <summary>The tensor the op produced.</summary>
    public Tensor Output { get; private set; }

    /// <summary>Number of differentiable inputs.</summary>
    public int InputCount { get; private set; }

    /// <summary>Differentiable input number <paramref name="index"/>, in constructor order.</summary>
    public Tensor GetInput(int index)
    {
        if ((uint)index >= (uint)InputCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{OpName} has {InputCount} inputs.");
        return _rest is Tensor[] all ? all[index]
            : index switch { 0 => _input0!, 1 => _input1!, 2 => _input2!, _ => (Tensor)_rest! };
    }

    /// <summary>The op's name for the profiler and error messages (the entry type's name without "Entry" or "Backward").</summary>
    public virtual string OpName
    {
        get
        {
            string name = GetType().Name;
            foreach (string suffix in (ReadOnlySpan<string>)["Entry", "Backward"])
                if (name.EndsWith(suffix, StringComparison.Ordinal) && name.Length > suffix.Length)
                    return name[..^suffix.Length];
            return name;
        }
    }

    /// <summary>Floating-point operations of <see cref="Backward"/>, for the profiler's GFLOP/s (0 when not meaningful).</summary>
    public virtual double BackwardFlops => 0;

    /// <summary>Bytes <see cref="Backward"/> must read and write, for the profiler's GB/s of a memory-bound op (0 when not counted).</summary>
    public virtual double BackwardBytes => 0;

    /// <summary>Accumulates ∂loss/∂input into each input that requires a gradient, given dY = ∂loss/∂output.</summary>
    public abstract void Backward(Tensor dY);

    // ---- bookkeeping of Tape.Record and Tape.Backward -----------------------------------------

    /// <summary>Recording order: a later entry can only use tensors made before it, so descending order is a valid backward order.</summary>
    internal long Sequence { get; set; }

    /// <summary>The profiler scope (layer) that was current when the op ran (set only while profiling).</summary>
    /// <remarks>A field (8 bytes per entry, and entries are pooled per step): a side table such as a
    /// <c>ConditionalWeakTable</c> costs microseconds per update, which the profiler would charge to every op it times
    /// (most of a 10-wide Dense layer's profiled time: benchmarks/README.md, twenty-seventh sitting).</remarks>
    internal string? Scope;

    /// <summary>Set once a backward pass ran this entry without retaining the graph (stored as a negated <see cref="Sequence"/>).</summary>
    internal bool Consumed
    {
        get => Sequence < 0;
        set => Sequence = value ? -Math.Abs(Sequence) : Math.Abs(Sequence);
    }

    /// <summary>The backward pass that last visited this entry (to collect each entry once).</summary>
    internal int VisitedPass { get; set; }
}
