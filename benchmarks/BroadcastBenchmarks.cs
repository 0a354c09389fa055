using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// The cost of broadcasting: Add of a (64, 128, 256) tensor with a row vector (256) and with a column
/// (64, 128, 1), against a same-shape TensorPrimitives.Add writing the same 2M-float output (the floor:
/// memory-bound either way). The gap is the walk's overhead; the backward reductions are timed too.
/// </summary>
[MemoryDiagnoser]
public class BroadcastBenchmarks
{
    private static readonly int[] Full = [64, 128, 256], Row = [256], Column = [64, 128, 1];

    [Params(1, 2)]
    public int Threads { get; set; }

    private float[] _a = [], _b = [], _row = [], _column = [], _y = [], _rowGrad = [], _columnGrad = [];

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        _a = Tensor.RandomUniform(Full, -1, 1, 1).ToArray();
        _b = Tensor.RandomUniform(Full, -1, 1, 2).ToArray();
        _row = Tensor.RandomUniform(Row, -1, 1, 3).ToArray();
        _column = Tensor.RandomUniform(Column, -1, 1, 4).ToArray();
        _y = new float[_a.Length];
        _rowGrad = new float[_row.Length];
        _columnGrad = new float[_column.Length];
    }

    /// <summary>The floor: one same-shape vectorised add over the whole output (always one thread).</summary>
    [Benchmark(Baseline = true)]
    public void SameShapeTensorPrimitives() => TensorPrimitives.Add(_a, _b, _y);

    /// <summary>(64, 128, 256) + (256): 8192 runs of a 256-long span + span.</summary>
    [Benchmark]
    public void AddRowVector() => Broadcast.Binary<AddOperator>(_a, Full, _row, Row, _y, Full);

    /// <summary>(64, 128, 256) + (64, 128, 1): 8192 runs of a 256-long span + scalar.</summary>
    [Benchmark]
    public void AddColumn() => Broadcast.Binary<AddOperator>(_a, Full, _column, Column, _y, Full);

    /// <summary>Backward of the row vector: Σ of dY over the 8192 rows into (256).</summary>
    [Benchmark]
    public void SumIntoRowVector() => Broadcast.SumInto(_a, Full, _rowGrad, Row);

    /// <summary>Backward of the column: one Σ per 256-long run into (64, 128, 1).</summary>
    [Benchmark]
    public void SumIntoColumn() => Broadcast.SumInto(_a, Full, _columnGrad, Column);
}
