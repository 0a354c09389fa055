using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// BatchNormalization's training kernels on a 32×32×32×32 NHWC batch (1 M values, 4 MB): statistics +
/// normalisation (forward), then the two backward passes, at 1 and 2 threads. Bytes counted: forward
/// reads x twice and writes y (3 passes), backward reads x and dY twice and reads and writes dX (6 passes).
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*NormalizationBenchmarks*'</c>.
/// </summary>
public class BatchNormalizationBenchmarks : IBytesCounted
{
    private const int Rows = 32 * 32 * 32, Channels = 32;

    [Params(1, 2)]
    public int Threads { get; set; }

    public double BytesPerCall => 9.0 * Rows * Channels * sizeof(float);

    private float[] _x = [], _y = [], _dY = [], _dX = [], _scratch = [], _vectors = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        var rng = new Random(1);
        _x = [.. Enumerable.Range(0, Rows * Channels).Select(_ => rng.NextSingle() * 4 - 1)];
        _dY = [.. Enumerable.Range(0, Rows * Channels).Select(_ => rng.NextSingle() - 0.5f)];
        _y = new float[_x.Length];
        _dX = new float[_x.Length];
        _scratch = new float[BatchNormKernels.ScratchLength(Rows, Channels)];
        _vectors = new float[8 * Channels];
    }

    [Benchmark(Description = "BatchNorm forward + backward, 32x32x32x32 NHWC")]
    public float ForwardBackward()
    {
        Span<float> v = _vectors;
        Span<float> mean = v[..Channels], variance = v.Slice(Channels, Channels), a = v.Slice(2 * Channels, Channels), b = v.Slice(3 * Channels, Channels);
        Span<float> sumDy = v.Slice(4 * Channels, Channels), sumDyCentered = v.Slice(5 * Channels, Channels), k2 = v.Slice(6 * Channels, Channels), k0 = v.Slice(7 * Channels, Channels);
        BatchNormKernels.Statistics(_x, Rows, Channels, mean, variance, _scratch);
        for (int c = 0; c < Channels; c++)
        {
            a[c] = 1f / MathF.Sqrt(variance[c] + 1e-3f);
            b[c] = -mean[c] * a[c];
        }
        BatchNormKernels.Normalize(_x, Rows, Channels, a, b, _y);
        BatchNormKernels.BackwardSums(_x, _dY, Rows, Channels, mean, sumDy, sumDyCentered, _scratch);
        for (int c = 0; c < Channels; c++)
        {
            k2[c] = -a[c] * a[c] * a[c] * sumDyCentered[c] / Rows;
            k0[c] = -a[c] * sumDy[c] / Rows - k2[c] * mean[c];
        }
        BatchNormKernels.BackwardInput(_x, _dY, Rows, Channels, a, k2, k0, _dX);
        return _dX[0];
    }
}

/// <summary>
/// LayerNormalization's kernels on (32, 100, 128): 3,200 rows of 128 (1.6 MB), forward then backward (into
/// x, γ and β), at 1 and 2 threads. Bytes counted: forward reads x and writes y; backward reads x and dY
/// and reads and writes dX.
/// </summary>
public class LayerNormalizationBenchmarks : IBytesCounted
{
    private const int Rows = 32 * 100, Channels = 128;

    [Params(1, 2)]
    public int Threads { get; set; }

    public double BytesPerCall => 6.0 * Rows * Channels * sizeof(float);

    private float[] _x = [], _y = [], _dY = [], _dX = [], _gamma = [], _beta = [], _dGamma = [], _dBeta = [], _mean = [], _invStd = [], _scratch = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        var rng = new Random(1);
        _x = [.. Enumerable.Range(0, Rows * Channels).Select(_ => rng.NextSingle() * 4 - 1)];
        _dY = [.. Enumerable.Range(0, Rows * Channels).Select(_ => rng.NextSingle() - 0.5f)];
        _gamma = [.. Enumerable.Range(0, Channels).Select(_ => rng.NextSingle() + 0.5f)];
        _beta = new float[Channels];
        (_y, _dX, _dGamma, _dBeta) = (new float[_x.Length], new float[_x.Length], new float[Channels], new float[Channels]);
        (_mean, _invStd) = (new float[Rows], new float[Rows]);
        _scratch = new float[LayerNormKernels.ScratchLength(Rows, Channels)];
    }

    [Benchmark(Description = "LayerNorm forward + backward, 32x100x128")]
    public float ForwardBackward()
    {
        LayerNormKernels.Forward(_x, Rows, Channels, _gamma, _beta, 1e-3f, _y, _mean, _invStd);
        LayerNormKernels.Backward(_x, _dY, Rows, Channels, _gamma, _mean, _invStd, _dX, _dGamma, _dBeta, _scratch);
        return _dX[0];
    }
}
