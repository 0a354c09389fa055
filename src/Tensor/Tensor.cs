using System.Numerics.Tensors;
using System.Text;
using NanoNet.Autograd;

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
public sealed class Tensor
{
    // Not readonly only so the tape can recycle pooled tensor objects (see Reinitialize); a tensor's
    // storage and shape never change while it is in use.
    private float[] _storage;
    private int _offset;
    private int[] _shape;

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

    /// <summary>Turns a recycled pooled tensor object into a fresh one over new storage (used only by the tape).</summary>
    internal void Reinitialize(float[] storage, int offset, int[] shape, Tensor? gradientOwner)
    {
        _storage = storage;
        _offset = offset;
        _shape = shape;
        Length = Shapes.Product(shape);
        _gradientOwner = gradientOwner;
        RequiresGrad = false;
        Grad = null;
        Name = null;
        IsPooled = true;
    }

    /// <summary>The dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (product of the shape).</summary>
    public int Length { get; private set; }

    /// <summary>Size of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => _shape[axis < 0 ? _shape.Length + axis : axis];

    /// <summary>The elements, row-major.</summary>
    public Span<float> Span => _storage.AsSpan(_offset, Length);

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

    /// <summary>The accumulated gradient ∂loss/∂this, or null before any backward pass reached it.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>An optional name, used in error messages and model summaries.</summary>
    public string? Name { get; set; }

    /// <summary>True when the storage was rented from the tape's pool (valid until the next <c>Tape.Clear</c>).</summary>
    internal bool IsPooled { get; private set; }

    internal float[] Storage => _storage;
    internal int Offset => _offset;
    internal int[] ShapeArray => _shape;

    // ---- creation ---------------------------------------------------------------------------

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => new(new float[Shapes.Product(Shapes.Checked(shape))], 0, (int[])shape.Clone());

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
    /// Differentiable: see <see cref="Ops.Reshape(Tensor, int[])"/>.
    /// </summary>
    public Tensor Reshape(params int[] shape) => Ops.Reshape(this, shape);

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
    internal Tensor View(int[] shape) => IsPooled
        ? Tape.Current.NewView(_storage, _offset, shape, gradientOwner: null)
        : new(_storage, _offset, shape);

    /// <summary>
    /// A view that also shares the gradient: its gradient, when created, is a view of this tensor's
    /// gradient, so gradients reaching the view accumulate here without a backward pass.
    /// </summary>
    internal Tensor ViewWithGradient(int[] shape)
    {
        Tensor view = IsPooled ? Tape.Current.NewView(_storage, _offset, shape, gradientOwner: this) : new(_storage, _offset, shape) { _gradientOwner = this };
        view.RequiresGrad = RequiresGrad && Tape.IsRecording;
        return view;
    }

    /// <summary>For a view made by <see cref="ViewWithGradient"/>: the tensor whose gradient storage it shares.</summary>
    private Tensor? _gradientOwner;

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
        RequiresGrad = true;
        Name = name ?? Name;
        return this;
    }

    /// <summary>Back-propagates from this scalar through the current tape, accumulating gradients.</summary>
    public void Backward() => Tape.Current.Backward(this);

    /// <summary>
    /// Returns the gradient tensor, allocating it as zeros on first use; a pooled tensor's gradient is
    /// pooled too (same lifetime), a parameter's gradient is an ordinary array that lives with it.
    /// </summary>
    internal Tensor EnsureGrad() => Grad ??=
        _gradientOwner is not null ? _gradientOwner.EnsureGrad().View(_shape)
        : IsPooled ? Tape.Current.NewTensor(_shape, zeroed: true)
        : Zeros(_shape);

    /// <summary>Sets the gradient to zero (keeps its storage); large gradients are cleared by all workers.</summary>
    public void ZeroGrad()
    {
        if (Grad is { } grad)
            Kernels.ParallelClear.Clear(grad.Span);
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
