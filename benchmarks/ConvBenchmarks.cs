using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// Conv2D and MaxPool2D forward and backward kernels at the CIFAR-10 seed model's shapes:
/// batch 64, 32×32×3 → Conv2D(32, 3×3, valid, fused ReLU) → 30×30×32 → MaxPool(2) → 15×15×32.
/// Backward is what the training step runs: the conv's [dW; db] (the image input needs no gradient),
/// the pool's gradient routing into a cleared dX.
/// </summary>
[MemoryDiagnoser]
public class ConvBenchmarks
{
    private const int Batch = 64, Filters = 32;
    private static readonly ConvGeometry Conv = ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, samePadding: false);
    private static readonly ConvGeometry Pool = ConvGeometry.Create(30, 30, 32, 2, 2, 2, 2, samePadding: false);

    [Params(1, 2)]
    public int Threads { get; set; }

    private float[] _images = [], _kernel = [], _bias = [], _convOut = [], _convGrad = [], _dKernel = [], _dBias = [];
    private float[] _poolOut = [], _poolGrad = [], _poolInputGrad = [];
    private int[] _argmax = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        _images = Tensor.RandomUniform([Batch, 32, 32, 3], 0, 1, 1).ToArray();
        _kernel = Tensor.RandomUniform([3, 3, 3, Filters], -0.2f, 0.2f, 2).ToArray();
        _bias = new float[Filters];
        _convOut = new float[Batch * Conv.OutputPixels * Filters];
        _convGrad = Tensor.RandomUniform([Batch, 30, 30, Filters], -1, 1, 3).ToArray();
        _dKernel = new float[_kernel.Length];
        _dBias = new float[Filters];
        _poolOut = new float[Batch * Pool.OutputPixels * Filters];
        _argmax = new int[_poolOut.Length];
        _poolGrad = Tensor.RandomUniform([Batch, 15, 15, Filters], -1, 1, 4).ToArray();
        _poolInputGrad = new float[_convOut.Length];
        // Each benchmark runs in its own process: compute the inputs the backward passes read.
        Conv2DKernels.Forward(_images, _kernel, _bias, _convOut, Batch, Filters, Conv, relu: true);
        MaxPoolKernels.Forward(_convOut, _poolOut, _argmax, Batch, Pool);
    }

    [Benchmark]
    public void Conv2DForward() => Conv2DKernels.Forward(_images, _kernel, _bias, _convOut, Batch, Filters, Conv, relu: true);

    /// <summary>ReLU mask on dY, then [dW; db] = colᵀ·dZ chunk by chunk (im2col rebuilt from x).</summary>
    [Benchmark]
    public void Conv2DBackward() =>
        Conv2DKernels.Backward(_images, _kernel, _convOut, _convGrad, _dKernel, _dBias, default, Batch, Filters, Conv, relu: true);

    [Benchmark]
    public void MaxPoolForward() => MaxPoolKernels.Forward(_convOut, _poolOut, _argmax, Batch, Pool);

    [Benchmark]
    public void MaxPoolBackward()
    {
        Array.Clear(_poolInputGrad);
        MaxPoolKernels.Backward(_poolGrad, _argmax, _poolInputGrad, Batch, Pool);
    }
}
