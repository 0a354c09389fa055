using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>One convolution kernel call of <see cref="ConvLayerBenchmarks"/>.</summary>
public sealed record ConvCase(string Name, bool Depthwise, bool Backward)
{
    public override string ToString() => Name;
}

/// <summary>
/// The new convolution kernels at realistic shapes, forward and backward, with GFLOP/s:
/// Conv1D as in Keras's imdb_cnn_lstm (batch 32, 100 steps × 128 embedding channels → 64 filters, kernel 5,
/// valid, fused ReLU; backward includes dX: the embedding below needs it) and DepthwiseConv2D 3×3 'same'
/// on 32×32×32×64 (backward: dW, db and dX).
/// </summary>
[MemoryDiagnoser]
public class ConvLayerBenchmarks : IFlopCounted
{
    private const int Batch = 32;
    private static readonly ConvGeometry Conv1D = ConvGeometry.Create(1, 100, 128, 1, 5, 1, 1, 1, 1, ConvPadding.Valid);
    private const int Conv1DFilters = 64;
    private static readonly ConvGeometry Depthwise = ConvGeometry.Create(32, 32, 64, 3, 3, 1, 1, 1, 1, ConvPadding.Same);

    public static IEnumerable<ConvCase> Cases() =>
    [
        new("Conv1D 32x100x128->64 k5 fwd", Depthwise: false, Backward: false),
        new("Conv1D 32x100x128->64 k5 bwd", Depthwise: false, Backward: true),
        new("Depthwise 3x3 32x32x32x64 fwd", Depthwise: true, Backward: false),
        new("Depthwise 3x3 32x32x32x64 bwd", Depthwise: true, Backward: true),
    ];

    [ParamsSource(nameof(Cases))]
    public ConvCase Case { get; set; } = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Multiply-adds ×2: forward (with the bias column for the GEMM conv); backward is dW (+ db) and dX, twice forward.</summary>
    public double FlopsPerCall => Case.Depthwise
        ? 2.0 * Batch * Depthwise.OutputPixels * 64 * 9 * (Case.Backward ? 2 : 1)
        : 2.0 * Batch * Conv1D.OutputPixels * Conv1DFilters * (Conv1D.PatchSize + 1 + (Case.Backward ? Conv1D.PatchSize : 0));

    private float[] _x = [], _w = [], _b = [], _y = [], _dY = [], _dW = [], _dB = [], _dX = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        ConvGeometry g = Case.Depthwise ? Depthwise : Conv1D;
        int outChannels = Case.Depthwise ? 64 : Conv1DFilters;
        _x = Tensor.RandomUniform([Batch * g.InputImageSize], -1, 1, 1).ToArray();
        _w = Tensor.RandomUniform([Case.Depthwise ? 9 * 64 : g.PatchSize * Conv1DFilters], -0.1f, 0.1f, 2).ToArray();
        _b = new float[outChannels];
        _y = new float[Batch * g.OutputPixels * outChannels];
        _dY = Tensor.RandomUniform([_y.Length], -1, 1, 3).ToArray();
        (_dW, _dB, _dX) = (new float[_w.Length], new float[outChannels], new float[_x.Length]);
        Forward(); // backward reads the forward output (the ReLU mask)
    }

    [Benchmark]
    public void Run()
    {
        if (!Case.Backward)
            Forward();
        else if (Case.Depthwise)
            DepthwiseConvKernels.Backward(_x, _w, _dY, _dW, _dB, _dX, Batch, 1, Depthwise);
        else // the ReLU mask overwrites dY in place; the mask is idempotent, so repeated calls do the same work
            Conv2DKernels.Backward(_x, _w, _y, _dY, _dW, _dB, _dX, Batch, Conv1DFilters, Conv1D, relu: true);
    }

    private void Forward()
    {
        if (Case.Depthwise)
            DepthwiseConvKernels.Forward(_x, _w, _b, _y, Batch, 1, Depthwise);
        else
            Conv2DKernels.Forward(_x, _w, _b, _y, Batch, Conv1DFilters, Conv1D, relu: true);
    }
}

/// <summary>
/// The new pooling kernels, forward and backward: MaxPooling1D(4) on imdb_cnn_lstm's conv output (batch
/// 32, 96 steps × 64 channels) and AveragePooling2D(2) on 32×32×32×64 images.
/// </summary>
[MemoryDiagnoser]
public class PoolingBenchmarks
{
    private const int Batch = 32;
    private static readonly ConvGeometry MaxPool1D = ConvGeometry.Create(1, 96, 64, 1, 4, 1, 4, samePadding: false);
    private static readonly ConvGeometry AvgPool2D = ConvGeometry.Create(32, 32, 64, 2, 2, 2, 2, samePadding: false);

    [Params(1, 2)]
    public int Threads { get; set; }

    private float[] _seq = [], _seqOut = [], _seqGrad = [], _seqInGrad = [], _img = [], _imgOut = [], _imgGrad = [], _imgInGrad = [];
    private int[] _argmax = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        _seq = Tensor.RandomUniform([Batch * MaxPool1D.InputImageSize], -1, 1, 1).ToArray();
        _seqOut = new float[Batch * MaxPool1D.OutputPixels * 64];
        _argmax = new int[_seqOut.Length];
        _seqGrad = Tensor.RandomUniform([_seqOut.Length], -1, 1, 2).ToArray();
        _seqInGrad = new float[_seq.Length];
        _img = Tensor.RandomUniform([Batch * AvgPool2D.InputImageSize], -1, 1, 3).ToArray();
        _imgOut = new float[Batch * AvgPool2D.OutputPixels * 64];
        _imgGrad = Tensor.RandomUniform([_imgOut.Length], -1, 1, 4).ToArray();
        _imgInGrad = new float[_img.Length];
        MaxPoolKernels.Forward(_seq, _seqOut, _argmax, Batch, MaxPool1D);
    }

    [Benchmark(Description = "MaxPooling1D(4) 32x96x64 fwd")]
    public void MaxPool1DForward() => MaxPoolKernels.Forward(_seq, _seqOut, _argmax, Batch, MaxPool1D);

    [Benchmark(Description = "MaxPooling1D(4) 32x96x64 bwd")]
    public void MaxPool1DBackward()
    {
        Array.Clear(_seqInGrad);
        MaxPoolKernels.Backward(_seqGrad, _argmax, _seqInGrad, Batch, MaxPool1D);
    }

    [Benchmark(Description = "AveragePooling2D(2) 32x32x32x64 fwd")]
    public void AvgPool2DForward() => AvgPoolKernels.Forward(_img, _imgOut, Batch, AvgPool2D);

    [Benchmark(Description = "AveragePooling2D(2) 32x32x32x64 bwd")]
    public void AvgPool2DBackward()
    {
        Array.Clear(_imgInGrad);
        AvgPoolKernels.Backward(_imgGrad, _imgInGrad, Batch, AvgPool2D);
    }
}
