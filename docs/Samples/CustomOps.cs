// The sample of docs/custom-ops.md (the region is the page's code block, word for word).
#region softplus
using NanoNet;
using NanoNet.Autograd;

public static class MyOps
{
    /// softplus(x) = log(1 + eˣ), computed stably; d/dx softplus = σ(x).
    public static Tensor Softplus(Tensor x)
    {
        Tensor y = Tensor.EmptyLike(x);                       // 1. allocate the output
        ReadOnlySpan<float> xs = x.Span;
        Span<float> ys = y.Span;
        for (int i = 0; i < xs.Length; i++)                   // 2. compute it
            ys[i] = MathF.Max(xs[i], 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(xs[i])));
        if (Tape.ShouldRecord(x))                             // 3. record, only when a gradient is wanted
            Tape.Record(new SoftplusBackward(y, x), x);       //    the entry, then the inputs it sends gradients to
        return y;
    }

    private sealed class SoftplusBackward(Tensor y, Tensor x) : TapeEntry(y)
    {
        public override void Backward(Tensor dY)              // dY = ∂loss/∂y, same shape as y
        {
            ReadOnlySpan<float> xs = x.Span, dy = dY.Span;
            Span<float> dX = x.EnsureGrad().Span;            // x's gradient, zeros on first use
            for (int i = 0; i < dX.Length; i++)
                dX[i] += dy[i] / (1f + MathF.Exp(-xs[i]));    // ADD: x may feed other ops too
        }
    }
}
#endregion
