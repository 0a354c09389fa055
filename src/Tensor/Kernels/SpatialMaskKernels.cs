using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// A per-(sample, channel) factor applied to every position of channels-last data: spatial dropout's forward
/// and backward.
/// </summary>
/// <remarks>
/// Shape legend: x, y, dY and dX are N×P×C (P = the positions of one sample: T steps, or H·W pixels), the mask
/// is N×C. Channels are innermost, so each position is one C-long run multiplied by the sample's C-long mask
/// row (<see cref="TensorPrimitives"/>). Every output element is one product (one fused multiply-add in
/// backward), with no sums across elements, so the result cannot depend on how work is split.
/// </remarks>
public static class SpatialMaskKernels
{
    /// <summary>y[n, p, c] = x[n, p, c] · mask[n, c].</summary>
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> mask, Span<float> y, int batch, int positions, int channels)
    {
        Check(x.Length, mask.Length, y.Length, batch, positions, channels);
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = mask.Slice(n * channels, channels);
            int start = n * positions * channels;
            for (int p = 0; p < positions; p++, start += channels)
                TensorPrimitives.Multiply(x.Slice(start, channels), row, y.Slice(start, channels));
        }
    }

    /// <summary>dX[n, p, c] += dY[n, p, c] · mask[n, c].</summary>
    public static void ApplyAdd(ReadOnlySpan<float> dY, ReadOnlySpan<float> mask, Span<float> dX, int batch, int positions, int channels)
    {
        Check(dY.Length, mask.Length, dX.Length, batch, positions, channels);
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = mask.Slice(n * channels, channels);
            int start = n * positions * channels;
            for (int p = 0; p < positions; p++, start += channels)
            {
                Span<float> target = dX.Slice(start, channels);
                TensorPrimitives.MultiplyAdd(dY.Slice(start, channels), row, target, target);
            }
        }
    }

    /// <summary>The naive twin of <see cref="Apply"/>: one element at a time, by its (n, p, c) index.</summary>
    public static void ApplyReference(ReadOnlySpan<float> x, ReadOnlySpan<float> mask, Span<float> y, int batch, int positions, int channels)
    {
        Check(x.Length, mask.Length, y.Length, batch, positions, channels);
        for (int n = 0; n < batch; n++)
            for (int p = 0; p < positions; p++)
                for (int c = 0; c < channels; c++)
                    y[(n * positions + p) * channels + c] = x[(n * positions + p) * channels + c] * mask[n * channels + c];
    }

    private static void Check(int data, int mask, int output, int batch, int positions, int channels)
    {
        long expected = (long)batch * positions * channels;
        if (data != expected || output != expected || mask != (long)batch * channels)
            throw new ArgumentException($"SpatialMaskKernels: spans of {data}, {mask} and {output} values do not fit N = {batch}, P = {positions}, C = {channels}.");
    }
}
