using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// The Keras cifar10_cnn model's three inner 3×3 convolutions (batch 32), each pass by Winograd (F(4×4, 3×3) forward and
/// input gradient, F(3×3, 4×4) weight gradient) and by the direct kernels: the forward with its ReLU, the weight gradient
/// ([dW; db] with the ReLU mask, no dX) and the input gradient (dX alone). <c>Kernel</c> switches the process-wide
/// <see cref="WinogradConv.Enabled"/> and <see cref="WinogradWeightGradient.Enabled"/> in the setup.
/// </summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*WinogradBenchmarks*'</c> (36 cases, about 8 minutes;
/// <c>--job short</c> adds a 3-iteration run beside the project's own 10-iteration one). The backward
/// passes mask dY in place, so each call first copies it back (0.1–0.4 ms of memory traffic, the same for both kernels).
/// </remarks>
[MemoryDiagnoser]
public class WinogradBenchmarks
{
    private const int Batch = 32;

    /// <summary>The layer: its input side, channels, filters and padding.</summary>
    [Params("32x32x32-32 valid", "15x15x32-64 same", "15x15x64-64 valid")]
    public string Layer { get; set; } = "";

    [Params("winograd", "direct")]
    public string Kernel { get; set; } = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    private ConvGeometry _g;
    private int _filters;
    private float[] _x = [], _w = [], _bias = [], _y = [], _dY = [], _dYWork = [], _dW = [], _dB = [], _dX = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        WinogradConv.Enabled = WinogradWeightGradient.Enabled = Kernel == "winograd";
        (int side, int channels, _filters, bool same) = Layer switch
        {
            "32x32x32-32 valid" => (32, 32, 32, false),
            "15x15x32-64 same" => (15, 32, 64, true),
            _ => (15, 64, 64, false),
        };
        _g = ConvGeometry.Create(side, side, channels, 3, 3, 1, 1, same);
        _x = Tensor.RandomUniform([Batch, side, side, channels], -1, 1, 1).ToArray();
        _w = Tensor.RandomUniform([3, 3, channels, _filters], -0.2f, 0.2f, 2).ToArray();
        _bias = new float[_filters];
        _y = new float[Batch * _g.OutputPixels * _filters];
        _dY = Tensor.RandomUniform([Batch * _g.OutputPixels * _filters], -1, 1, 3).ToArray();
        _dYWork = new float[_dY.Length];
        _dW = new float[_w.Length];
        _dB = new float[_filters];
        _dX = new float[_x.Length];
        Conv2DKernels.Forward(_x, _w, _bias, _y, Batch, _filters, _g, relu: true);
    }

    [GlobalCleanup]
    public void Cleanup() => WinogradConv.Enabled = WinogradWeightGradient.Enabled = true;

    [Benchmark]
    public void Forward() => Conv2DKernels.Forward(_x, _w, _bias, _y, Batch, _filters, _g, relu: true);

    [Benchmark]
    public void WeightGradient()
    {
        _dY.CopyTo(_dYWork);
        Conv2DKernels.Backward(_x, _w, _y, _dYWork, _dW, _dB, default, Batch, _filters, _g, relu: true);
    }

    [Benchmark]
    public void InputGradient()
    {
        _dY.CopyTo(_dYWork);
        Conv2DKernels.Backward(_x, _w, _y, _dYWork, default, default, _dX, Batch, _filters, _g, relu: true, overwriteInput: true);
    }
}
