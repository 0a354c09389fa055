namespace NanoNet.Kernels;

/// <summary>
/// Plain reference upsampling, one output element at a time from the definitions: what
/// <see cref="NearestUpSamplingKernels"/> and <see cref="BilinearUpSamplingKernels"/> are tested against.
/// </summary>
/// <remarks>
/// Shape legend: x and dX are N×H×W×C, y and dY are N×(H·sh)×(W·sw)×C. The bilinear twin works in double
/// and computes its backward as the adjoint (each input pixel gathers Σ weight·dY over every output pixel),
/// not as the kernel's scatter, so the two agree only if both follow the same interpolation.
/// </remarks>
public static class UpSamplingReference
{
    /// <summary>y[n, oh, ow, c] = x[n, ⌊oh/sh⌋, ⌊ow/sw⌋, c].</summary>
    public static void NearestForward(ReadOnlySpan<float> x, Span<float> y, int batch, in UpSamplingGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                        y[Output(g, n, oh, ow, c)] = x[Input(g, n, oh / g.RowFactor, ow / g.ColumnFactor, c)];
    }

    /// <summary>dX[n, h, w, c] += Σ over its block of dY, row by row, left to right.</summary>
    public static void NearestBackward(ReadOnlySpan<float> dY, Span<float> dX, int batch, in UpSamplingGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int h = 0; h < g.Height; h++)
                for (int w = 0; w < g.Width; w++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        float sum = dX[Input(g, n, h, w, c)];
                        for (int r = 0; r < g.RowFactor; r++)
                            for (int k = 0; k < g.ColumnFactor; k++)
                                sum += dY[Output(g, n, h * g.RowFactor + r, w * g.ColumnFactor + k, c)];
                        dX[Input(g, n, h, w, c)] = sum;
                    }
    }

    /// <summary>y[n, oh, ow, c] = Σ over input pixels (h, w) of Weight(oh, h)·Weight(ow, w)·x[n, h, w, c], in double.</summary>
    public static void BilinearForward(ReadOnlySpan<float> x, Span<float> y, int batch, in UpSamplingGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int oh = 0; oh < g.OutputHeight; oh++)
                for (int ow = 0; ow < g.OutputWidth; ow++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        double sum = 0;
                        for (int h = 0; h < g.Height; h++)
                            for (int w = 0; w < g.Width; w++)
                                sum += Weight(oh, h, g.RowFactor, g.Height) * Weight(ow, w, g.ColumnFactor, g.Width) * x[Input(g, n, h, w, c)];
                        y[Output(g, n, oh, ow, c)] = (float)sum;
                    }
    }

    /// <summary>dX[n, h, w, c] += Σ over output pixels of Weight(oh, h)·Weight(ow, w)·dY[n, oh, ow, c], in double (the adjoint of the forward).</summary>
    public static void BilinearBackward(ReadOnlySpan<float> dY, Span<float> dX, int batch, in UpSamplingGeometry g)
    {
        for (int n = 0; n < batch; n++)
            for (int h = 0; h < g.Height; h++)
                for (int w = 0; w < g.Width; w++)
                    for (int c = 0; c < g.Channels; c++)
                    {
                        double sum = 0;
                        for (int oh = 0; oh < g.OutputHeight; oh++)
                            for (int ow = 0; ow < g.OutputWidth; ow++)
                                sum += Weight(oh, h, g.RowFactor, g.Height) * Weight(ow, w, g.ColumnFactor, g.Width) * dY[Output(g, n, oh, ow, c)];
                        dX[Input(g, n, h, w, c)] += (float)sum;
                    }
    }

    /// <summary>
    /// How much output index <paramref name="o"/> of an axis upsampled by <paramref name="factor"/> takes from input
    /// index <paramref name="i"/>: the source coordinate s = (o + ½)/factor − ½ clamped to [0, size − 1] takes
    /// 1 − (s − ⌊s⌋) from ⌊s⌋ and s − ⌊s⌋ from ⌊s⌋ + 1 (the tent 1 − |s − i|, zero beyond one pixel away).
    /// </summary>
    private static double Weight(int o, int i, int factor, int size)
    {
        double s = Math.Clamp((o + 0.5) / factor - 0.5, 0, size - 1);
        return Math.Max(0, 1 - Math.Abs(s - i));
    }

    private static int Input(in UpSamplingGeometry g, int n, int h, int w, int c) => ((n * g.Height + h) * g.Width + w) * g.Channels + c;

    private static int Output(in UpSamplingGeometry g, int n, int oh, int ow, int c) => ((n * g.OutputHeight + oh) * g.OutputWidth + ow) * g.Channels + c;
}
