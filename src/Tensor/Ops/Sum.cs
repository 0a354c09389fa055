using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>Scalar s = Σ x. Backward: dX += dS (broadcast).</summary>
    public static Tensor Sum(Tensor x) => Reduce(x, scale: 1f);

    /// <summary>Scalar m = (1/n) Σ x. Backward: dX += dM / n.</summary>
    public static Tensor Mean(Tensor x) => Reduce(x, scale: x.Length == 0 ? 0f : 1f / x.Length);

    private static Tensor Reduce(Tensor x, float scale)
    {
        var y = Tensor.Empty([]);
        y[0] = TensorPrimitives.Sum<float>(x.Span) * scale;
        if (Tape.ShouldRecord(x))
            Tape.Record(new ReduceEntry(y, x, scale), x);
        return y;
    }

    private sealed class ReduceEntry(Tensor y, Tensor x, float scale) : TapeEntry(y)
    {
        public override void Backward(Tensor dY) =>
            TensorPrimitives.Add(x.EnsureGrad().Span, dY[0] * scale, x.Grad!.Span);
    }
}
