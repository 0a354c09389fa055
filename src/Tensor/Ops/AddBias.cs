using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Y = X + b, with the bias broadcast over every leading dimension: X is (..., C), b is (C).
    /// </summary>
    /// <remarks>Backward: dX += dY; db += Σ over rows of dY (summed row by row in a fixed order).</remarks>
    public static Tensor AddBias(Tensor x, Tensor bias)
    {
        long started = Profiler.Start();
        int channels = bias.Length;
        if (bias.Rank != 1 || x.Rank == 0 || x.Dim(-1) != channels)
            throw new ArgumentException($"AddBias: bias {Shapes.Format(bias.Shape)} must be rank 1 and match the last dimension of the input {Shapes.Format(x.Shape)}.");
        var y = Tensor.EmptyLike(x);
        ReadOnlySpan<float> b = bias.Span, xs = x.Span;
        Span<float> ys = y.Span;
        for (int r = 0; r < xs.Length; r += channels)
            TensorPrimitives.Add(xs.Slice(r, channels), b, ys.Slice(r, channels));
        if (Tape.ShouldRecord(x, bias))
            Tape.Record(AddBiasEntry.Rent(y, x, bias), x, bias);
        Profiler.Stop("AddBias", started, 0);
        return y;
    }

    private sealed class AddBiasEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private Tensor bias = null!;

        public static AddBiasEntry Rent(Tensor y, Tensor x, Tensor bias)
        {
            AddBiasEntry entry = Rent<AddBiasEntry>(y);
            (entry.x, entry.bias) = (x, bias);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            if (x.RequiresGrad)
                TensorPrimitives.Add(x.EnsureGrad().Span, dY.Span, x.Grad!.Span);
            if (bias.RequiresGrad)
                SumRowsInto(dY.Span, bias.EnsureGrad().Span);
        }
    }

    /// <summary>db += Σᵣ dY[r, :] (rows of length db.Length), in row order.</summary>
    internal static void SumRowsInto(ReadOnlySpan<float> dY, Span<float> db)
    {
        int channels = db.Length;
        for (int r = 0; r < dY.Length; r += channels)
            TensorPrimitives.Add(db, dY.Slice(r, channels), db);
    }
}
