using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Softmax and log-softmax along one axis of a tensor seen as (outer, n, inner) blocks, forward and
/// backward. Backward kernels accumulate into dX.
/// </summary>
/// <remarks>
/// <para>Shape legend: x, y, dY and dX are outer × n × inner; the softmax runs along n, separately for
/// every (o, i). inner = 1 is the last axis (contiguous rows); inner &gt; 1 is a strided axis, where the
/// rows x[o, r, :] are combined element-wise, vectorised along inner.</para>
/// <para>Formulas (c = max over the axis, s = Σ exp(x − c)):
/// softmax y = exp(x − c) / s, backward dX += y ⊙ (dY − Σ dY⊙y);
/// log-softmax y = x − c − log s, backward dX += dY − exp(y) ⊙ Σ dY.</para>
/// <para>Each (o, i) is computed by one tile (<see cref="ReduceTiles"/>), so results are the same bits at any thread count.</para>
/// </remarks>
public static unsafe class SoftmaxAxisKernels
{
    private enum Pass { SoftmaxForward, SoftmaxBackward, LogSoftmaxForward, LogSoftmaxBackward }

    /// <summary>y = exp(x − c) / Σ exp(x − c) along the middle axis.</summary>
    public static void SoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner) =>
        Run(Pass.SoftmaxForward, x, default, y, outer, n, inner);

    /// <summary>dX += y ⊙ (dY − Σₙ dY⊙y), given the softmax output y.</summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, int outer, int n, int inner) =>
        Run(Pass.SoftmaxBackward, y, dY, dX, outer, n, inner);

    /// <summary>y = x − c − log Σ exp(x − c) along the middle axis.</summary>
    public static void LogSoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner) =>
        Run(Pass.LogSoftmaxForward, x, default, y, outer, n, inner);

    /// <summary>dX += dY − exp(y) ⊙ Σₙ dY, given the log-softmax output y.</summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, int outer, int n, int inner) =>
        Run(Pass.LogSoftmaxBackward, y, dY, dX, outer, n, inner);

    private static void Run(Pass pass, ReadOnlySpan<float> input, ReadOnlySpan<float> dY, Span<float> output, int outer, int n, int inner)
    {
        long length = (long)outer * n * inner;
        bool backward = pass is Pass.SoftmaxBackward or Pass.LogSoftmaxBackward;
        if (outer < 0 || n < 0 || inner < 0 || input.Length != length || output.Length != length || (backward && dY.Length != length))
            throw new ArgumentException($"Softmax: blocks ({outer}, {n}, {inner}) need {length} elements, got {input.Length} and {output.Length}.");
        if (n == 0)
            return;
        fixed (float* pin = input, pdy = dY, pout = output)
            ReduceTiles.Run(new Body(pass, pin, pdy, pout, n, inner), outer, inner, length);
    }

    /// <summary>One (o, chunk of inner) tile. <c>a</c> is x (forward) or y (backward); <c>b</c> is y (forward) or dX (backward).</summary>
    private readonly struct Body(Pass pass, float* a, float* dY, float* b, int n, int inner) : ITileBody
    {
        public void Run(int o, int i0, int count)
        {
            long start = (long)o * n * inner + i0;
            if (inner == 1)
                RunRow(start);
            else
                RunStrided(start, count);
        }

        private ReadOnlySpan<float> A(long at, int count) => new(a + at, count);
        private ReadOnlySpan<float> DY(long at, int count) => new(dY + at, count);
        private Span<float> B(long at, int count) => new(b + at, count);

        /// <summary>The axis is the last one: one contiguous row of n.</summary>
        private void RunRow(long start)
        {
            ReadOnlySpan<float> row = A(start, n);
            Span<float> outRow = B(start, n);
            switch (pass)
            {
                case Pass.SoftmaxForward:
                    TensorPrimitives.SoftMax(row, outRow);
                    break;
                case Pass.SoftmaxBackward:
                {
                    float dot = TensorPrimitives.Dot(row, DY(start, n));
                    Span<float> t = stackalloc float[ReduceTiles.Chunk];
                    for (int c = 0; c < n; c += ReduceTiles.Chunk)
                    {
                        int len = Math.Min(ReduceTiles.Chunk, n - c);
                        Span<float> v = t[..len];
                        TensorPrimitives.Subtract(DY(start + c, len), dot, v);   // dY − dot
                        TensorPrimitives.Multiply(v, A(start + c, len), v);      // y (dY − dot)
                        TensorPrimitives.Add(B(start + c, len), v, B(start + c, len));
                    }
                    break;
                }
                case Pass.LogSoftmaxForward:
                {
                    float max = TensorPrimitives.Max(row);
                    TensorPrimitives.Subtract(row, max, outRow);               // y = x − c
                    Span<float> t = stackalloc float[ReduceTiles.Chunk];
                    float sum = 0f;
                    for (int c = 0; c < n; c += ReduceTiles.Chunk)
                    {
                        Span<float> v = t[..Math.Min(ReduceTiles.Chunk, n - c)];
                        TensorPrimitives.Exp(outRow.Slice(c, v.Length), v);
                        sum += TensorPrimitives.Sum<float>(v);
                    }
                    TensorPrimitives.Subtract(outRow, MathF.Log(sum), outRow); // y = x − c − log s
                    break;
                }
                case Pass.LogSoftmaxBackward:
                {
                    float dySum = TensorPrimitives.Sum(DY(start, n));
                    Span<float> t = stackalloc float[ReduceTiles.Chunk];
                    for (int c = 0; c < n; c += ReduceTiles.Chunk)
                    {
                        int len = Math.Min(ReduceTiles.Chunk, n - c);
                        Span<float> v = t[..len];
                        TensorPrimitives.Exp(A(start + c, len), v);                   // softmax = exp(y)
                        TensorPrimitives.MultiplyAdd(v, -dySum, DY(start + c, len), v); // dY − softmax Σ dY
                        TensorPrimitives.Add(B(start + c, len), v, B(start + c, len));
                    }
                    break;
                }
            }
        }

        /// <summary>A strided axis: rows a[o, r, i0..i0+count] combined element-wise, r = 0..n−1 in order.</summary>
        private void RunStrided(long start, int count)
        {
            Span<float> stat = stackalloc float[ReduceTiles.Chunk], t = stackalloc float[ReduceTiles.Chunk], u = stackalloc float[ReduceTiles.Chunk];
            Span<float> s = stat[..count], v = t[..count], e = u[..count];
            switch (pass)
            {
                case Pass.SoftmaxForward or Pass.LogSoftmaxForward:
                {
                    A(start, count).CopyTo(s);                                  // c = max over r
                    for (int r = 1; r < n; r++)
                        TensorPrimitives.Max(s, A(start + (long)r * inner, count), s);
                    v.Clear();                                                  // v = Σ exp(x − c)
                    for (int r = 0; r < n; r++)
                    {
                        long at = start + (long)r * inner;
                        TensorPrimitives.Subtract(A(at, count), s, B(at, count));
                        if (pass == Pass.SoftmaxForward)
                        {
                            TensorPrimitives.Exp(B(at, count), B(at, count));   // y = exp(x − c), normalised below
                            TensorPrimitives.Add(v, B(at, count), v);
                        }
                        else
                        {
                            TensorPrimitives.Exp(B(at, count), e);              // y stays x − c for now
                            TensorPrimitives.Add(v, e, v);
                        }
                    }
                    if (pass == Pass.SoftmaxForward)
                        for (int r = 0; r < n; r++)
                            TensorPrimitives.Divide(B(start + (long)r * inner, count), v, B(start + (long)r * inner, count));
                    else
                    {
                        TensorPrimitives.Log(v, v);                              // y = (x − c) − log s
                        for (int r = 0; r < n; r++)
                            TensorPrimitives.Subtract(B(start + (long)r * inner, count), v, B(start + (long)r * inner, count));
                    }
                    break;
                }
                case Pass.SoftmaxBackward:
                {
                    s.Clear();                                                  // s = Σ dY ⊙ y
                    for (int r = 0; r < n; r++)
                    {
                        long at = start + (long)r * inner;
                        TensorPrimitives.MultiplyAdd(A(at, count), DY(at, count), s, s);
                    }
                    for (int r = 0; r < n; r++)
                    {
                        long at = start + (long)r * inner;
                        TensorPrimitives.Subtract(DY(at, count), s, v);         // dY − s
                        TensorPrimitives.Multiply(v, A(at, count), v);          // y (dY − s)
                        TensorPrimitives.Add(B(at, count), v, B(at, count));
                    }
                    break;
                }
                case Pass.LogSoftmaxBackward:
                {
                    DY(start, count).CopyTo(s);                                 // s = Σ dY
                    for (int r = 1; r < n; r++)
                        TensorPrimitives.Add(s, DY(start + (long)r * inner, count), s);
                    for (int r = 0; r < n; r++)
                    {
                        long at = start + (long)r * inner;
                        TensorPrimitives.Exp(A(at, count), v);                  // softmax = exp(y)
                        TensorPrimitives.Multiply(v, s, v);
                        TensorPrimitives.Subtract(DY(at, count), v, v);         // dY − softmax s
                        TensorPrimitives.Add(B(at, count), v, B(at, count));
                    }
                    break;
                }
            }
        }
    }
}
