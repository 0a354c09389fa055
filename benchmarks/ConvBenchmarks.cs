using BenchmarkDotNet.Attributes;
using NanoNet.Autograd;

namespace NanoNet.Benchmarks;

/// <summary>
/// Conv2D and MaxPool2D forward and backward at the CIFAR-10 seed model's shapes:
/// batch 64, 32×32×3 → Conv2D(32, 3×3, valid) → 30×30×32 → MaxPool(2) → 15×15×32.
/// </summary>
[MemoryDiagnoser]
public class ConvBenchmarks
{
    [Params(1, 2)]
    public int Threads { get; set; }

    private Tensor _images = null!, _kernel = null!, _bias = null!, _convOut = null!, _convGrad = null!, _poolGrad = null!;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        Tape.Current.UsePool = true;
        _images = Tensor.RandomUniform([64, 32, 32, 3], 0, 1, 1);
        _kernel = Tensor.RandomUniform([3, 3, 3, 32], -0.2f, 0.2f, 2).AsParameter();
        _bias = Tensor.Zeros(32).AsParameter();
        _convOut = Tensor.RandomUniform([64, 30, 30, 32], -1, 1, 3).AsParameter();
        _convGrad = Tensor.RandomUniform([64, 30, 30, 32], -1, 1, 4);
        _poolGrad = Tensor.RandomUniform([64, 15, 15, 32], -1, 1, 5);
    }

    [Benchmark]
    public Tensor Conv2DForward()
    {
        Tape.Current.Clear();
        using (Tape.NoGrad())
            return Ops.Conv2D(_images, _kernel, _bias);
    }

    /// <summary>Forward (which saves im2col) plus backward: dW and db (the image input needs no gradient).</summary>
    [Benchmark]
    public void Conv2DForwardBackward()
    {
        Tape.Current.Clear();
        Tensor y = Ops.Conv2D(_images, _kernel, _bias);
        Ops.Sum(Ops.Multiply(y, _convGrad)).Backward();
    }

    [Benchmark]
    public Tensor MaxPoolForward()
    {
        Tape.Current.Clear();
        using (Tape.NoGrad())
            return Ops.MaxPool2D(_convOut, 2, 2, 2, 2);
    }

    [Benchmark]
    public void MaxPoolForwardBackward()
    {
        Tape.Current.Clear();
        Tensor y = Ops.MaxPool2D(_convOut, 2, 2, 2, 2);
        Ops.Sum(Ops.Multiply(y, _poolGrad)).Backward();
        _convOut.ZeroGrad();
    }
}
