using BenchmarkDotNet.Attributes;
using NanoNet.Autograd;
using NanoNet.Layers;
using NanoNet.Memory;

namespace NanoNet.Benchmarks;

/// <summary>
/// MultiHeadAttention self-attention on batch 32, T = 64, d = 128, 4 heads of 32, forward and forward +
/// backward (into the input and every weight), at 1 and 2 threads. Flops: the four projections
/// 8·N·T·d² and the two attention products 4·N·T²·d forward; backward twice that.
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*AttentionBenchmarks*'</c>.
/// </summary>
public class AttentionBenchmarks : IFlopCounted
{
    private const int Batch = 32, Steps = 64, Width = 128, Heads = 4;

    [Params(1, 2)]
    public int Threads { get; set; }

    [Params(false, true)]
    public bool Backward { get; set; }

    public double FlopsPerCall => (Backward ? 3.0 : 1.0) * (8.0 * Batch * Steps * Width * Width + 4.0 * Batch * Steps * Steps * Width);

    private readonly StepMemory _memory = new();
    private MultiHeadAttention _layer = null!;
    private Tensor _x = null!, _dY = null!;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        _layer = new MultiHeadAttention(Heads, Width / Heads);
        _layer.BuildFor([[Steps, Width], [Steps, Width]]);
        _layer.InitializeWeights(new RandomStream(1));
        _x = Tensor.RandomUniform([Batch, Steps, Width], -1, 1, 2).AsParameter("x");
        _dY = Tensor.RandomUniform([Batch, Steps, Width], -1, 1, 3);
    }

    [Benchmark(Description = "MultiHeadAttention 32x64x128, 4 heads")]
    public float Run()
    {
        _memory.Release();
        using (_memory.Use())
        {
            if (!Backward)
            {
                using (Tape.NoGrad())
                    return _layer.Forward([_x, _x])[0];
            }
            Tensor y = _layer.Forward([_x, _x], training: true);
            Ops.Sum(Ops.Multiply(y, _dY)).Backward();
            foreach (Tensor weight in _layer.Weights)
                weight.ZeroGrad();
            _x.ZeroGrad();
            return y[0];
        }
    }
}
