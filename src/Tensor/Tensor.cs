using System.Numerics.Tensors;
using System.Text;
using NanoNet.Autograd;
using NanoNet.Memory;

namespace NanoNet;

/// <summary>
/// A float32 N-dimensional tensor: contiguous row-major storage, a shape, and (when it takes part in
/// autograd) a gradient of the same shape.
/// </summary>
/// <remarks>
/// Storage is a slice of a <c>float[]</c>; <see cref="Reshape"/> and <see cref="SliceRows"/> return
/// views over the same array without copying. Differentiable operations live in <c>NanoNet.Ops</c>
/// and record themselves on the current <see cref="Tape"/>.
/// </remarks>
public sealed partial class Tensor
{
    // Not readonly only so step memory can recycle tensor objects (see Rebind); a tensor's storage and
    // shape never change while it is alive.
    private float[] _storage;
    private int _offset;
    private int[] _shape;

    // Step memory this tensor was rented from (null for ordinary tensors) and the generation it is valid in.
    private StepMemory? _memory;
    private int _generation;

    /// <summary>Wraps <paramref name="storage"/>[offset..offset+product(shape)] without copying.</summary>
    internal Tensor(float[] storage, int offset, int[] shape)
    {
        int length = Shapes.Product(shape);
        if (offset < 0 || offset + length > storage.Length)
            throw new ArgumentException($"Shape {Shapes.Format(shape)} needs {length} elements from offset {offset}, but the storage holds {storage.Length}.");
        _storage = storage;
        _offset = offset;
        _shape = shape;
        Length = length;
    }

    /// <summary>A blank object for <see cref="StepMemory"/> to <see cref="Rebind"/>.</summary>
    internal static Tensor NewRecyclable() => new([], 0, EmptyVectorShape);

    private static readonly int[] EmptyVectorShape = [0];

    /// <summary>Turns a recycled tensor object into a fresh tensor over rented storage (used only by <see cref="StepMemory"/>).</summary>
    internal void Rebind(float[] storage, int offset, int[] shape, Tensor? gradientOwner, StepMemory memory, int generation)
    {
        _storage = storage;
        _offset = offset;
        _shape = shape;
        Length = Shapes.Product(shape);
        _gradientOwner = gradientOwner;
        _memory = memory;
        _generation = generation;
        RequiresGrad = false;
        _grad = null;
        _gradIsZero = _gradClearPending = false;
        Name = null;
        CreatedBy = null;
        IsParameter = false;
        Mask = null;
    }

    /// <summary>Throws if this tensor came from step memory that has since been released.</summary>
    private void CheckAlive()
    {
        if (_memory is not null && _memory.Generation != _generation)
            ThrowReleased();
    }

    private void ThrowReleased() => throw new InvalidOperationException(
        $"Tensor{(Name is null ? "" : $" '{Name}'")} {Shapes.Format(_shape)} belonged to a training step whose memory has been released " +
        $"(created in step-memory generation {_generation}, now {_memory!.Generation}). Tensors made during a step live until the next " +
        "step starts: copy what you want to keep with Clone().");

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape
    {
        get
        {
            CheckAlive();
            return _shape;
        }
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (product of the shape).</summary>
    public int Length { get; private set; }

    /// <summary>Size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => _shape[axis < 0 ? _shape.Length + axis : axis];

    /// <summary>The elements, row-major.</summary>
    public Span<float> Span
    {
        get
        {
            CheckAlive();
            return _storage.AsSpan(_offset, Length);
        }
    }

    /// <summary>Element access by flat (row-major) index.</summary>
    public float this[int index]
    {
        get => Span[index];
        set => Span[index] = value;
    }

    /// <summary>Element access by row and column of a rank-2 tensor.</summary>
    public float this[int row, int column]
    {
        get => Span[row * _shape[1] + column];
        set => Span[row * _shape[1] + column] = value;
    }

    /// <summary>Whether gradients flow into this tensor during <see cref="Backward"/>.</summary>
    public bool RequiresGrad { get; set; }

    private Tensor? _grad;

    /// <summary>
    /// The accumulated gradient ∂loss/∂this, or null before any backward pass reached it. Setting it
    /// (e.g. to null, or to a gradient computed elsewhere) requires the same shape.
    /// </summary>
    public Tensor? Grad
    {
        get
        {
            CheckAlive();
            ClearPendingGrad();
            _gradIsZero = false; // the caller may write into it
            return _grad;
        }
        set
        {
            CheckAlive();
            if (value is not null && !Shapes.Equal(value.Shape, _shape))
                throw new ArgumentException($"Gradient of shape {Shapes.Format(value.Shape)} does not match tensor{(Name is null ? "" : $" '{Name}'")} of shape {Shapes.Format(_shape)}.", nameof(value));
            _grad = value;
            _gradRowsValid = false;
            _gradIsZero = _gradClearPending = false;
        }
    }

    // True only while _grad is known to hold zeros and nobody was handed it since: set by ZeroGrad, cleared by every
    // way out (Grad, EnsureGrad, GradForFirstWrite). It lets the first backward writer overwrite instead of add.
    private bool _gradIsZero;

    // True while _grad's storage still holds old values that stand for zeros: ZeroGrad defers clearing a whole gradient
    // it owns, since its first writer usually stores every element anyway (a Dense layer's weight gradient:
    // GradForFirstWrite). Every other way to the storage clears it first (ClearPendingGrad). Implies _gradIsZero.
    private bool _gradClearPending;

    /// <summary>Whether a <see cref="ZeroGrad"/> left the clearing of the gradient's storage for later (tests).</summary>
    internal bool GradClearPending => _gradClearPending;

    /// <summary>Clears the storage a deferred <see cref="ZeroGrad"/> left holding old values (of this tensor, or of the base whose gradient a view shares).</summary>
    private void ClearPendingGrad()
    {
        _gradientOwner?.ClearPendingGrad();
        if (_gradClearPending)
        {
            _gradClearPending = false;
            Kernels.ParallelClear.Clear(_grad!.Span);
        }
    }

    // Row sparsity of the gradient: _gradRows lists the rows an embedding's backward wrote; it describes
    // _grad only while _gradRowsValid (every other writer goes through EnsureGrad, which clears the flag).
    private GradientRows? _gradRows;
    private bool _gradRowsValid;

    /// <summary>
    /// The rows (first axis) of <see cref="Grad"/> that may be non-zero, when only row-sparse ops (an
    /// <see cref="Ops.Embedding"/> backward) wrote it since it was created or last zeroed; null when any row may
    /// be non-zero. Plain SGD then updates (and <see cref="ZeroGrad"/> clears) only these rows: the same result,
    /// without walking a large embedding table every step.
    /// </summary>
    public GradientRows? TouchedGradientRows => _gradRowsValid ? _gradRows : null;

    /// <summary>An optional name, used in error messages, model summaries and optimizer state (e.g. "dense/kernel").</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Which steps of a sequence batch are real, as Keras carries <c>_keras_mask</c>: (N, T) of 1 (keep) and
    /// 0 (padding), set by a layer that knows (an Embedding with <c>maskZero</c>) and read or passed on by the
    /// layers after it (an LSTM skips masked steps). Null when every step counts. A step-memory tensor's
    /// mask is cleared when the object is recycled, so a mask never outlives its tensor.
    /// </summary>
    public Tensor? Mask { get; set; }

    /// <summary>Whether this tensor was marked as a trainable parameter (<see cref="AsParameter"/>).</summary>
    public bool IsParameter { get; private set; }

    /// <summary>
    /// The recorded op that produced this tensor (its backward pass), or null for a leaf: a parameter,
    /// an input, or anything made while not recording.
    /// </summary>
    public TapeEntry? CreatedBy { get; internal set; }

    /// <summary>True when the storage was rented from a <see cref="StepMemory"/> (valid until its next release).</summary>
    public bool IsStepMemory => _memory is not null;

    /// <summary>The step memory this tensor was rented from, while it is still valid there; null for an ordinary tensor.</summary>
    internal StepMemory? LiveStepMemory => _memory is not null && _memory.Generation == _generation ? _memory : null;

    internal float[] Storage
    {
        get
        {
            CheckAlive();
            return _storage;
        }
    }

    internal int Offset => _offset;

    internal int[] ShapeArray
    {
        get
        {
            CheckAlive();
            return _shape;
        }
    }

    // Scratch used by Tape.Backward for gradient-ready notifications (which pass, and after which entry).
    internal int ReadyPass;
    internal int ReadyAfter;

    // ---- creation ---------------------------------------------------------------------------

    /// <summary>
    /// A tensor with <b>uninitialised</b> values, for an op's output: rented from the active
    /// <see cref="StepMemory"/> during a training step (valid until the step ends), an ordinary array otherwise.
    /// </summary>
    public static Tensor Empty(ReadOnlySpan<int> shape) => New(Shapes.Interned(shape), zeroed: false);

    /// <summary>A rank-1 <see cref="Empty(ReadOnlySpan{int})"/> tensor.</summary>
    public static Tensor Empty(int d0) => New(Shapes.Interned([d0]), zeroed: false);

    /// <summary>A rank-2 <see cref="Empty(ReadOnlySpan{int})"/> tensor.</summary>
    public static Tensor Empty(int d0, int d1) => New(Shapes.Interned([d0, d1]), zeroed: false);

    /// <summary>A rank-3 <see cref="Empty(ReadOnlySpan{int})"/> tensor.</summary>
    public static Tensor Empty(int d0, int d1, int d2) => New(Shapes.Interned([d0, d1, d2]), zeroed: false);

    /// <summary>A rank-4 <see cref="Empty(ReadOnlySpan{int})"/> tensor.</summary>
    public static Tensor Empty(int d0, int d1, int d2, int d3) => New(Shapes.Interned([d0, d1, d2, d3]), zeroed: false);

    /// <summary>An <see cref="Empty(ReadOnlySpan{int})"/> tensor of the same shape as <paramref name="like"/>.</summary>
    public static Tensor EmptyLike(Tensor like) => New(like.ShapeArray, zeroed: false);

    /// <summary>Like <see cref="Empty(ReadOnlySpan{int})"/> but zero-filled (for outputs an op accumulates into).</summary>
    public static Tensor EmptyZeroed(ReadOnlySpan<int> shape) => New(Shapes.Interned(shape), zeroed: true);

    /// <summary>Step-memory-aware allocation; <paramref name="shape"/> is shared, never mutated.</summary>
    internal static Tensor New(int[] shape, bool zeroed)
    {
        Shapes.Checked(shape);
        if (StepMemory.Active is { } memory)
            return memory.RentTensor(shape, zeroed);
        return OnCacheLine(shape, zeroed);
    }

    /// <summary>
    /// A new tensor of <paramref name="shape"/> (an ordinary array, <see cref="CacheLineAlignment.SlackFloats"/> longer
    /// than the shape needs) from its array's first cache line where the array lies now, so the kernels' 512-bit loads of
    /// its rows do not straddle two lines (<see cref="CacheLineAlignment"/>). Only a start index: should the garbage
    /// collector move a small array, the tensor stays correct and merely loses the alignment (arrays of 85 KB and more
    /// are not moved).
    /// </summary>
    internal static Tensor OnCacheLine(int[] shape, bool zeroed)
    {
        int length = Shapes.Product(shape) + CacheLineAlignment.SlackFloats;
        float[] storage = zeroed ? new float[length] : GC.AllocateUninitializedArray<float>(length);
        return new(storage, CacheLineAlignment.Offset(storage), shape);
    }

    /// <summary>A tensor of zeros (always an ordinary array: safe to keep).</summary>
    public static Tensor Zeros(params int[] shape) =>
        OnCacheLine((int[])Shapes.Checked(shape).Clone(), zeroed: true);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>Wraps <paramref name="data"/> (no copy) as a tensor of the given shape.</summary>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        Shapes.Checked(shape);
        if (Shapes.Product(shape) != data.Length)
            throw new ArgumentException($"Shape {Shapes.Format(shape)} holds {Shapes.Product(shape)} elements but the array has {data.Length}.");
        return new Tensor(data, 0, (int[])shape.Clone());
    }

    /// <summary>A scalar (rank 0) tensor.</summary>
    public static Tensor Scalar(float value) => new([value], 0, []);

    /// <summary>Normally distributed values (Box–Muller), reproducible from <paramref name="seed"/>: stream 0 of <see cref="RandomStream"/>(seed).</summary>
    public static Tensor RandomNormal(int[] shape, float mean = 0f, float std = 1f, int seed = 0)
    {
        var t = Zeros(shape);
        new RandomStream((ulong)seed).FillNormal(t.Span, mean, std); // a negative seed is sign-extended
        return t;
    }

    /// <summary>Uniform values in [low, high), reproducible from <paramref name="seed"/>: stream 0 of <see cref="RandomStream"/>(seed).</summary>
    public static Tensor RandomUniform(int[] shape, float low = 0f, float high = 1f, int seed = 0)
    {
        var t = Zeros(shape);
        new RandomStream((ulong)seed).FillUniform(t.Span, low, high); // a negative seed is sign-extended
        return t;
    }

    // ---- views and copies --------------------------------------------------------------------

    /// <summary>
    /// A view with a new shape over the same storage (no copy). One dimension may be -1 and is inferred.
    /// Differentiable: see <see cref="Ops.Reshape(Tensor, ReadOnlySpan{int})"/>.
    /// </summary>
    public Tensor Reshape(params ReadOnlySpan<int> shape) => Ops.Reshape(this, shape);

    /// <summary>A view of rows [start, start+count) along the first dimension (no copy, not differentiable).</summary>
    public Tensor SliceRows(int start, int count)
    {
        if (Rank == 0)
            throw new InvalidOperationException("SliceRows needs a tensor of rank 1 or more, got a scalar.");
        if (start < 0 || count < 0 || start + count > _shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"Rows [{start}, {start + count}) are outside a first dimension of {_shape[0]}.");
        int rowLength = _shape[0] == 0 ? 0 : Length / _shape[0];
        int[] shape = (int[])_shape.Clone();
        shape[0] = count;
        return new Tensor(_storage, _offset + start * rowLength, shape);
    }

    /// <summary>A view sharing storage with a different shape; the caller guarantees the length matches.</summary>
    internal Tensor View(int[] shape) => (_memory ?? StepMemory.Active) is { } memory
        ? memory.Wrap(Storage, _offset, shape, gradientOwner: null)
        : new(_storage, _offset, shape);

    /// <summary>
    /// A view that also shares the gradient: its gradient, when created, is a view of this tensor's
    /// gradient, so gradients reaching the view accumulate here without a backward pass.
    /// </summary>
    internal Tensor ViewWithGradient(int[] shape)
    {
        // A view is an op's output: while a step memory is active it is rented like one (valid for the step), also
        // when it views an ordinary tensor such as a weight; otherwise it is an ordinary object.
        Tensor view = (_memory ?? StepMemory.Active) is { } memory ? memory.Wrap(Storage, _offset, shape, gradientOwner: this)
            : new(_storage, _offset, shape) { _gradientOwner = this };
        view.RequiresGrad = RequiresGrad && Tape.IsRecording;
        return view;
    }

    /// <summary>For a view made by <see cref="ViewWithGradient"/>: the tensor whose gradient storage it shares.</summary>
    private Tensor? _gradientOwner;

    /// <summary>The tensor whose gradient storage this one uses: itself, or for a reshaped view, its base (followed to the end).</summary>
    internal Tensor GradientRoot
    {
        get
        {
            Tensor t = this;
            while (t._gradientOwner is { } owner)
                t = owner;
            return t;
        }
    }

    /// <summary>
    /// The same values, cut off from autograd: no gradient flows through it and it records nothing
    /// (PyTorch's <c>detach</c>, TensorFlow's <c>stop_gradient</c>). Shares storage; no copy.
    /// </summary>
    public Tensor Detach() => View(_shape);

    /// <summary>A deep copy of the values (no gradient, not on the tape).</summary>
    public Tensor Clone()
    {
        var t = Zeros(_shape);
        Span.CopyTo(t.Span);
        return t;
    }

    /// <summary>The values as a new array.</summary>
    public float[] ToArray() => Span.ToArray();

    // ---- autograd -----------------------------------------------------------------------------

    /// <summary>Marks this tensor as a trainable parameter: gradients will be accumulated into it.</summary>
    public Tensor AsParameter(string? name = null)
    {
        if (_memory is not null)
            throw new InvalidOperationException($"A step-memory tensor {Shapes.Format(_shape)} cannot be a parameter: it dies with its training step. Create parameters with Tensor.Zeros and friends.");
        RequiresGrad = true;
        IsParameter = true;
        Name = name ?? Name;
        return this;
    }

    /// <summary>
    /// Back-propagates from this scalar through the ops that produced it, accumulating ∂this/∂t into the
    /// <see cref="Grad"/> of every tensor t that requires a gradient. The graph is consumed: a second
    /// backward through it throws, unless <paramref name="retainGraph"/> keeps it for another pass.
    /// </summary>
    public void Backward(bool retainGraph = false) => Tape.Backward(this, retainGraph);

    /// <summary>
    /// The gradient to accumulate into, allocated as zeros on first use: what an op's backward pass adds
    /// its contribution to. A step-memory tensor's gradient lives in the same step memory; a parameter's
    /// is an ordinary array that lives with it; a reshaped view's is a view of its base's gradient.
    /// </summary>
    public Tensor EnsureGrad()
    {
        CheckAlive();
        ClearPendingGrad();
        _gradRowsValid = false; // the caller may write any row
        _gradIsZero = false;
        return _grad ??=
            _gradientOwner is not null ? _gradientOwner.EnsureGrad().View(_shape)
            : _memory is not null ? _memory.RentTensor(_shape, zeroed: true)
            : Zeros(_shape);
    }

    /// <summary>
    /// <see cref="EnsureGrad"/> for a backward pass that writes every element of the gradient and can either add its
    /// contribution or store it: <paramref name="overwrite"/> tells it that the gradient holds nothing yet (it is new,
    /// or was zeroed by <see cref="ZeroGrad"/> and not touched since), so it may store instead of adding to zeros.
    /// A new gradient is then not zeroed first. At batch 64 of the CIFAR-10 seed model this spares the 7200→128 Dense
    /// one read of its 3.7 MB weight gradient and a clear and a read of its 1.8 MB input gradient per step.
    /// </summary>
    /// <remarks>
    /// A caller told to overwrite must write every element. Adding to zeros and storing give the same values (except that
    /// a −0 stays −0 instead of becoming +0, which compares and computes as +0 does).
    /// </remarks>
    internal Tensor GradForFirstWrite(out bool overwrite)
    {
        CheckAlive();
        if (_grad is null && _gradientOwner is null)
        {
            overwrite = true;
            _gradRowsValid = false;
            return _grad = _memory is not null ? _memory.RentTensor(_shape, zeroed: false) : Zeros(_shape);
        }
        if (_grad is null && _gradientOwner is { } owner && owner.Length == Length)
        {
            // A reshaped view (Flatten's output): its gradient is its base's, which may be new too.
            _gradRowsValid = false;
            return _grad = owner.GradForFirstWrite(out overwrite).View(_shape);
        }
        overwrite = _grad is not null && _gradIsZero && _gradientOwner is null;
        if (overwrite)
            _gradClearPending = false; // the caller stores every element: the deferred clear is never needed
        return EnsureGrad();
    }

    /// <summary>
    /// <see cref="EnsureGrad"/> for a row-sparse writer that adds only into the rows listed in
    /// <paramref name="rows"/> (except <paramref name="skippedRow"/>; −1 skips none): the rows are recorded in
    /// <see cref="TouchedGradientRows"/> when the gradient was zero outside known rows before.
    /// </summary>
    internal Tensor EnsureGradForRows(ReadOnlySpan<int> rows, int skippedRow)
    {
        bool fresh = _grad is null;
        bool tracked = _gradientOwner is null && Rank >= 1 && (fresh || _gradRowsValid);
        Tensor grad = EnsureGrad();
        if (tracked)
        {
            _gradRows ??= new GradientRows(_shape[0]);
            if (fresh)
                _gradRows.Clear();
            foreach (int row in rows)
                if (row != skippedRow)
                    _gradRows.Add(row);
            _gradRowsValid = true;
        }
        return grad;
    }

    /// <summary>Sets the gradient to zero (keeps its storage); large gradients are cleared by all workers.</summary>
    /// <remarks>
    /// A whole gradient this tensor owns is cleared lazily, as PyTorch's <c>zero_grad(set_to_none=True)</c> spares the
    /// pass: the values are zeros to everything that asks for them (<see cref="Grad"/>, a backward pass), but the
    /// storage is cleared only when one does, and never when the first backward writer stores every element (a Dense
    /// layer's weight gradient, 4.7 MB in the Keras cifar10_cnn model: one memory pass less per step). A
    /// <see cref="Tensor"/> read from <see cref="Grad"/> before this call and kept may therefore still show the old values:
    /// ask <see cref="Grad"/> again. An embedding's touched rows are cleared at once (<see cref="TouchedGradientRows"/>).
    /// </remarks>
    public void ZeroGrad()
    {
        if (_grad is not { } grad)
            return;
        if (TouchedGradientRows is { } rows)
            Kernels.RowRunClear.Clear(grad.Span, rows, Length / _shape[0]);
        else if (_gradientOwner is null)
            _gradClearPending = true;
        else
            Kernels.ParallelClear.Clear(grad.Span);
        if (_gradRows is not null)
        {
            _gradRows.Clear();
            _gradRowsValid = true; // all zero now
        }
        _gradIsZero = true;
    }

    // ---- reductions (not differentiable; see Ops for the differentiable ones) ---------------

    /// <summary>Sum of all elements.</summary>
    public float Sum() => TensorPrimitives.Sum<float>(Span);

    /// <summary>Mean of all elements.</summary>
    public float Mean() => Length == 0 ? float.NaN : Sum() / Length;

    /// <summary>Largest element.</summary>
    public float Max() => TensorPrimitives.Max<float>(Span);

    /// <summary>Index of the largest element along the last axis, for each row.</summary>
    public int[] ArgMaxRows()
    {
        int columns = Rank == 0 ? 1 : _shape[^1];
        int rows = columns == 0 ? 0 : Length / columns;
        var result = new int[rows];
        Span<float> data = Span;
        for (int r = 0; r < rows; r++)
            result[r] = TensorPrimitives.IndexOfMax<float>(data.Slice(r * columns, columns));
        return result;
    }

    /// <summary>Shape and (for small tensors) values, e.g. <c>Tensor(2, 3) [1, 2, 3, 4, 5, 6]</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("Tensor").Append(Shapes.Format(_shape));
        if (Length <= 16)
        {
            sb.Append(" [");
            for (int i = 0; i < Length; i++)
                sb.Append(i == 0 ? "" : ", ").Append(Span[i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
            sb.Append(']');
        }
        return sb.ToString();
    }
}
