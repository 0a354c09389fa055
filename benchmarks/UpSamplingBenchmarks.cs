using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// UpSampling2D's kernels at a decoder shape: batch 32, 16×16×64 → 32×32×64 (x 2 MB, y 8 MB), nearest and
/// bilinear, forward and backward, at 1 and 2 threads. Both are memory-bound (a few flops per value moved), so
/// the figure of merit is GB/s. Bytes counted: forward reads x once and writes y (5 × 2 MB); backward reads dY
/// and reads and writes dX (6 × 2 MB; dX is accumulated into, as the gradient is).
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*UpSamplingBenchmarks*' --job short</c>.
/// </summary>
public class UpSamplingBenchmarks : IBytesCounted
{
    private const int Batch = 32, Height = 16, Width = 16, Channels = 64, Factor = 2;
    private static readonly UpSamplingGeometry Geometry = UpSamplingGeometry.Create(Height, Width, Channels, Factor, Factor);

    [Params("nearest", "bilinear")]
    public string Interpolation { get; set; } = "nearest";

    [Params("forward", "backward")]
    public string Pass { get; set; } = "forward";

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    public double BytesPerCall => (Pass == "forward" ? 5.0 : 6.0) * Batch * Height * Width * Channels * sizeof(float);

    private float[] _x = [], _y = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        _x = Tensor.RandomUniform([Batch, Height, Width, Channels], -1, 1, 1).ToArray();
        _y = Tensor.RandomUniform([Batch, Height * Factor, Width * Factor, Channels], -1, 1, 2).ToArray();
    }

    [Benchmark(Description = "UpSampling2D 2x2, 32x16x16x64 -> 32x32x32x64")]
    public float Run()
    {
        bool bilinear = Interpolation == "bilinear";
        if (Pass == "forward")
        {
            if (bilinear)
                BilinearUpSamplingKernels.Forward(_x, _y, Batch, Geometry);
            else
                NearestUpSamplingKernels.Forward(_x, _y, Batch, Geometry);
            return _y[0];
        }
        // Backward: _y is dY, _x is dX (accumulated into, bounded values: dY is never changed).
        if (bilinear)
            BilinearUpSamplingKernels.Backward(_y, _x, Batch, Geometry);
        else
            NearestUpSamplingKernels.Backward(_y, _x, Batch, Geometry);
        return _x[0];
    }
}
