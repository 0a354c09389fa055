using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// The shape kernels at transformer-like sizes, each next to a plain copy of the same number of bytes
/// (the floor for a data-movement kernel: it must read and write every element once).
/// <list type="bullet">
/// <item>Transpose of the last two axes of (64, 256, 256): 16 MB, the tiled 8×8 register transpose.</item>
/// <item>Permute (0, 2, 1, 3) of (32, 128, 8, 64), the attention head split: 8 MB in 256-byte runs.</item>
/// <item>Concat of two (64, 128, 256) on the last axis: 16 MB out, one 1 KB run per row and input.</item>
/// </list>
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*ShapeOp*'</c>
/// </summary>
[MemoryDiagnoser]
public class ShapeOpBenchmarks
{
    private static readonly int[] BatchOfMatrices = [64, 256, 256], SwapLastTwo = [0, 2, 1];
    private static readonly int[] Heads = [32, 128, 8, 64], HeadSplit = [0, 2, 1, 3];
    private static readonly int[] ConcatInput = [64, 128, 256], ConcatOutput = [64, 128, 512], Origin = [0, 0, 0], SecondHalf = [0, 0, 256];

    [Params(1, 2)]
    public int Threads { get; set; }

    private float[] _matrices = [], _transposed = [], _heads = [], _split = [], _left = [], _right = [], _joined = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        _matrices = Tensor.RandomUniform(BatchOfMatrices, -1, 1, 1).ToArray();
        _transposed = new float[_matrices.Length];
        _heads = Tensor.RandomUniform(Heads, -1, 1, 2).ToArray();
        _split = new float[_heads.Length];
        _left = Tensor.RandomUniform(ConcatInput, -1, 1, 3).ToArray();
        _right = Tensor.RandomUniform(ConcatInput, -1, 1, 4).ToArray();
        _joined = new float[_left.Length + _right.Length];
    }

    [Benchmark]
    public void TransposeLastTwoAxes() => PermuteKernels.Permute(_matrices, BatchOfMatrices, SwapLastTwo, _transposed);

    /// <summary>The same 16 MB copied with no reordering.</summary>
    [Benchmark]
    public void CopyOfTransposeBytes() => _matrices.AsSpan().CopyTo(_transposed);

    [Benchmark]
    public void AttentionHeadSplit() => PermuteKernels.Permute(_heads, Heads, HeadSplit, _split);

    /// <summary>The same 8 MB copied with no reordering.</summary>
    [Benchmark]
    public void CopyOfHeadSplitBytes() => _heads.AsSpan().CopyTo(_split);

    [Benchmark]
    public void ConcatLastAxis()
    {
        WindowKernels.CopyWindow(_left, ConcatInput, Origin, _joined, ConcatOutput, Origin, ConcatInput);
        WindowKernels.CopyWindow(_right, ConcatInput, Origin, _joined, ConcatOutput, SecondHalf, ConcatInput);
    }

    /// <summary>The same 16 MB copied as two contiguous halves.</summary>
    [Benchmark]
    public void CopyOfConcatBytes()
    {
        _left.AsSpan().CopyTo(_joined);
        _right.AsSpan().CopyTo(_joined.AsSpan(_left.Length));
    }
}
