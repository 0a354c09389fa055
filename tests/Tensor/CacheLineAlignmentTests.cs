using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet.Tests;

/// <summary>
/// Kernel buffers start on a cache line (<see cref="CacheLineAlignment"/>): the rule itself, the slack every scratch
/// buffer carries for it, and that it changes no result (a GEMM with packing, a Winograd convolution, an LSTM step).
/// </summary>
[NonParallelizable] // switches CacheLineAlignment.Enabled, which is process-wide
public unsafe class CacheLineAlignmentTests
{
    [Test]
    public void AlignRoundsUpToTheNextCacheLineAndOffsetLeavesTheLength()
    {
        float[] pinned = GC.AllocateArray<float>(100 + CacheLineAlignment.SlackFloats, pinned: true);
        fixed (float* p = pinned)
        {
            float* aligned = CacheLineAlignment.Align(p);
            Assert.That((long)aligned % CacheLineAlignment.Bytes, Is.Zero);
            Assert.That(aligned - p, Is.InRange(0, CacheLineAlignment.SlackFloats - 1));
            Assert.That(CacheLineAlignment.Offset(pinned), Is.EqualTo(aligned - p), "the same start, as an index");
            Assert.That(CacheLineAlignment.Align(aligned) == aligned, "an aligned pointer stays");
            Assert.That(pinned.Length - CacheLineAlignment.Offset(pinned), Is.GreaterThanOrEqualTo(100));
        }
    }

    [Test]
    public void ScratchBuffersCarryTheSlackForAnAlignedStart()
    {
        int generation = ScratchBuffers.Generation;
        float[] buffer = ScratchBuffers.Rent(1000);
        try
        {
            Assert.That(buffer.Length - CacheLineAlignment.Offset(buffer), Is.GreaterThanOrEqualTo(1000));
        }
        finally
        {
            ScratchBuffers.Return(buffer, generation);
        }
    }

    [Test]
    public void TensorsStartOnACacheLine()
    {
        // Large arrays (85 KB and more) are not moved by the garbage collector, so their start stays aligned.
        Tensor zeros = Tensor.Zeros(64, 1000), empty = Tensor.Empty([64, 1000]);
        var memory = new StepMemory();
        Tensor rented;
        using (memory.Use())
            rented = Tensor.Empty([64, 1000]);
        foreach ((string name, Tensor t) in new[] { ("Zeros", zeros), ("Empty", empty), ("step memory", rented) })
            fixed (float* p = t.Span)
                Assert.That((long)p % CacheLineAlignment.Bytes, Is.Zero, name);
        Assert.That(zeros.Span.ToArray(), Has.All.EqualTo(0f));
    }

    [Test]
    public void AlignedBuffersGiveTheSameBits()
    {
        var rng = new Random(3);
        float[] Random(int n) { var v = new float[n]; for (int i = 0; i < v.Length; i++) v[i] = rng.NextSingle() - 0.5f; return v; }
        // A GEMM that packs both operands, with a PackedMatrix B too.
        float[] a = Random(200 * 300), b = Random(300 * 96);
        float[] Gemm(bool aligned) => With(aligned, () =>
        {
            var c = new float[200 * 96];
            NanoNet.Kernels.Gemm.Multiply(false, false, 200, 96, 300, a, 300, b, 96, c, 96);
            var packed = new float[200 * 96];
            NanoNet.Kernels.Gemm.Multiply(false, 200, 96, 300, a, 300, PackedMatrix.Pack(false, 300, 96, b, 96), packed, 96);
            return [.. c, .. packed];
        });
        Assert.That(Gemm(aligned: true), Is.EqualTo(Gemm(aligned: false)).AsCollection, "GEMM");

        // A convolution (Winograd on AVX-512 machines, else the direct or im2col kernel) and its backward.
        var g = ConvGeometry.Create(15, 15, 32, 3, 3, 1, 1, true);
        float[] x = Random(4 * g.InputImageSize), k = Random(g.PatchSize * 64), bias = Random(64), dY = Random(4 * g.OutputPixels * 64);
        float[] Conv(bool aligned) => With(aligned, () =>
        {
            var y = new float[dY.Length];
            var dW = new float[k.Length];
            var dB = new float[64];
            var dX = new float[x.Length];
            Conv2DKernels.Forward(x, k, bias, y, 4, 64, g, relu: false);
            Conv2DKernels.Backward(x, k, y, (float[])dY.Clone(), dW, dB, dX, 4, 64, g, relu: false, overwriteInput: true);
            return [.. y, .. dW, .. dB, .. dX];
        });
        Assert.That(Conv(aligned: true), Is.EqualTo(Conv(aligned: false)).AsCollection, "convolution");

        // An LSTM's streamed forward (the fused step on AVX-512).
        var s = new LstmShape(16, 5, 8, 32);
        float[] input = Random(s.InputLength), w = Random(8 * 128), r = Random(32 * 128), lb = Random(128);
        float[] Lstm(bool aligned) => With(aligned, () =>
        {
            var y = new float[s.OutputLength(false)];
            var h = new float[s.StateLength];
            var c = new float[s.StateLength];
            LstmInference.Forward(s, input, w, r, lb, default, default, default, y, false, h, c, new float[LstmInference.ScratchLength(s)]);
            return [.. y, .. c];
        });
        Assert.That(Lstm(aligned: true), Is.EqualTo(Lstm(aligned: false)).AsCollection, "LSTM");
    }

    private static float[] With(bool aligned, Func<float[]> run)
    {
        bool saved = CacheLineAlignment.Enabled;
        CacheLineAlignment.Enabled = aligned;
        try
        {
            return run();
        }
        finally
        {
            CacheLineAlignment.Enabled = saved;
        }
    }
}
