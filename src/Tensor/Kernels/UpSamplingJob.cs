namespace NanoNet.Kernels;

/// <summary>One image's upsampling, forward and backward: what <see cref="UpSamplingJob{TImage}"/> runs per image.</summary>
internal interface IUpSamplingImage
{
    /// <summary>y = the upsampled x, for one image (x: H×W×C, y: OH×OW×C).</summary>
    static abstract void Forward(ReadOnlySpan<float> x, Span<float> y, in UpSamplingGeometry g);

    /// <summary>dX += dY carried back to the input pixels, for one image.</summary>
    static abstract void Backward(ReadOnlySpan<float> dY, Span<float> dX, in UpSamplingGeometry g);
}

/// <summary>
/// Runs an upsampling kernel (<typeparamref name="TImage"/>: nearest or bilinear) over a batch, one image per work
/// item on the worker pool. Images are independent, forward and backward, so any split gives the same bits.
/// </summary>
internal sealed unsafe class UpSamplingJob<TImage> : ImageJob where TImage : IUpSamplingImage
{
    [ThreadStatic] private static UpSamplingJob<TImage>? t_cached;
    private UpSamplingGeometry _g;
    private bool _forward;
    private nint _input, _output;

    /// <summary>Forward: y = up(x) for every image of the batch.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, in UpSamplingGeometry g)
    {
        fixed (float* px = x, py = y)
            Rent(g, forward: true, (nint)px, (nint)py).Run(batch);
    }

    /// <summary>Backward: dX += up⁻¹(dY) for every image of the batch.</summary>
    public static void Backward(ReadOnlySpan<float> dY, Span<float> dX, int batch, in UpSamplingGeometry g)
    {
        fixed (float* pdy = dY, pdx = dX)
            Rent(g, forward: false, (nint)pdx, (nint)pdy).Run(batch);
    }

    /// <summary>This thread's job, set up; <paramref name="input"/> is x or dX, <paramref name="output"/> y or dY.</summary>
    private static UpSamplingJob<TImage> Rent(in UpSamplingGeometry g, bool forward, nint input, nint output)
    {
        UpSamplingJob<TImage> job = t_cached ??= new UpSamplingJob<TImage>();
        (job._g, job._forward, job._input, job._output) = (g, forward, input, output);
        return job;
    }

    protected override void RunImage(int n)
    {
        int inSize = _g.InputImageSize, outSize = _g.OutputImageSize;
        var input = new Span<float>((float*)_input + (long)n * inSize, inSize);
        var output = new Span<float>((float*)_output + (long)n * outSize, outSize);
        if (_forward)
            TImage.Forward(input, output, _g);
        else
            TImage.Backward(output, input, _g);
    }
}
