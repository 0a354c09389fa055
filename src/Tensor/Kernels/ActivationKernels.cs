using System.Numerics;
using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Forward and backward of the point-wise activations, on spans. Backward kernels accumulate:
/// dX += dY ⊙ f'(·), written in terms of the forward output y where that is cheaper.
/// </summary>
/// <remarks>Shape legend: every span has the same length n; y is the forward output.</remarks>
public static class ActivationKernels
{
    /// <summary>y = max(x, 0).</summary>
    public static void ReluForward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    /// <summary>dX += dY where y &gt; 0 (the ReLU derivative is the step function).</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var positive = Vector.GreaterThan(new Vector<float>(y.Slice(i)), Vector<float>.Zero);
                var grad = Vector.ConditionalSelect(positive, new Vector<float>(dY.Slice(i)), Vector<float>.Zero);
                (new Vector<float>(dX.Slice(i)) + grad).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            if (y[i] > 0f)
                dX[i] += dY[i];
    }

    /// <summary>y[r, :] += b, then (when <paramref name="relu"/>) y = max(y, 0): one pass over rows of length b.Length.</summary>
    public static void AddBiasRows(Span<float> y, ReadOnlySpan<float> bias, bool relu)
    {
        int columns = bias.Length;
        for (int r = 0; r < y.Length; r += columns)
        {
            Span<float> row = y.Slice(r, columns);
            TensorPrimitives.Add(row, bias, row);
            if (relu)
                TensorPrimitives.Max(row, 0f, row);
        }
    }

    /// <summary>dZ = dY ⊙ [y &gt; 0], in place (the ReLU backward of a fused layer).</summary>
    public static void ReluMask(ReadOnlySpan<float> y, Span<float> dY)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var positive = Vector.GreaterThan(new Vector<float>(y.Slice(i)), Vector<float>.Zero);
                Vector.ConditionalSelect(positive, new Vector<float>(dY.Slice(i)), Vector<float>.Zero).CopyTo(dY.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            if (!(y[i] > 0f))
                dY[i] = 0f;
    }

    /// <summary>y = 1 / (1 + e^-x).</summary>
    public static void SigmoidForward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);

    /// <summary>dX += dY · y · (1 − y).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var yv = new Vector<float>(y.Slice(i));
                var g = new Vector<float>(dY.Slice(i)) * yv * (Vector<float>.One - yv);
                (new Vector<float>(dX.Slice(i)) + g).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            dX[i] += dY[i] * y[i] * (1f - y[i]);
    }

    /// <summary>y = tanh(x).</summary>
    public static void TanhForward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);

    /// <summary>dX += dY · (1 − y²).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var yv = new Vector<float>(y.Slice(i));
                var g = new Vector<float>(dY.Slice(i)) * (Vector<float>.One - yv * yv);
                (new Vector<float>(dX.Slice(i)) + g).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            dX[i] += dY[i] * (1f - y[i] * y[i]);
    }

    /// <summary>Row-wise softmax over the last axis: y = e^(x − max) / Σ e^(x − max).</summary>
    public static void SoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int columns)
    {
        for (int r = 0; r < x.Length; r += columns)
            TensorPrimitives.SoftMax(x.Slice(r, columns), y.Slice(r, columns));
    }

    /// <summary>Row-wise softmax backward: dX += y ⊙ (dY − Σⱼ dYⱼ·yⱼ).</summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, int columns)
    {
        for (int r = 0; r < y.Length; r += columns)
        {
            ReadOnlySpan<float> yRow = y.Slice(r, columns), dyRow = dY.Slice(r, columns);
            Span<float> dxRow = dX.Slice(r, columns);
            float dot = TensorPrimitives.Dot(yRow, dyRow);
            for (int j = 0; j < columns; j++)
                dxRow[j] += yRow[j] * (dyRow[j] - dot);
        }
    }
}
