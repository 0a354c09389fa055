using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The GEMM's prefetch plan (<see cref="GemmPrefetch"/>) handed to the 8×32 kernel as one run of lines per tile
/// (<see cref="GemmPrefetch.TakeRun"/>), which the kernel asks for along its K loop
/// (<see cref="GemmMicroKernels.Kernel8x32Strided{TRead}"/>): the runs walk the plan's lines in order, none twice and none
/// past a row, at the pace of the burst they replace; and the kernel's K loop, cut into pieces between two prefetches,
/// still takes every step once, in order, whatever it is asked to prefetch (the plan's run, its B rows ahead).
/// </summary>
public unsafe class GemmPrefetchTests
{
    /// <summary>kc K steps against prefetch runs of 0, fewer, as many and more lines (the rest issued after the loop).</summary>
    [TestCase(1, 0)]
    [TestCase(1, 1)]
    [TestCase(7, 3)]
    [TestCase(37, 5)]   // 7 steps between prefetches, the last piece 2 steps long
    [TestCase(37, 37)]
    [TestCase(37, 80)]  // more lines than steps
    [TestCase(256, 128)]
    [TestCase(256, 0)]
    public void TheKernelTakesEveryKStepOnceWhateverItPrefetches(int kc, int lines)
    {
        if (!Vector512.IsHardwareAccelerated)
            Assert.Ignore("the 8×32 kernel needs AVX-512");
        var rng = new Random(kc * 100 + lines);
        float[] a = Enumerable.Range(0, 8 * kc).Select(_ => rng.NextSingle() - 0.5f).ToArray();   // packed: 8 per step
        float[] b = Enumerable.Range(0, kc * 32).Select(_ => rng.NextSingle() - 0.5f).ToArray();  // packed: 32 per step
        float[] initial = Enumerable.Range(0, 8 * 32).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        byte[] lineBuffer = new byte[lines * 64 + 64];

        foreach (bool add in new[] { false, true })
        {
            // The kernel's own order: each accumulator starts at 0 and takes one FMA per step, then C is stored or added to.
            float[] expected = (float[])initial.Clone();
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 32; j++)
                {
                    float sum = 0f;
                    for (int p = 0; p < kc; p++)
                        sum = MathF.FusedMultiplyAdd(a[p * 8 + i], b[p * 32 + j], sum);
                    expected[i * 32 + j] = add ? expected[i * 32 + j] + sum : sum;
                }
            float[] c = (float[])initial.Clone();
            fixed (float* pa = a, pb = b, pc = c)
            fixed (byte* pl = lineBuffer)
                GemmMicroKernels.Kernel8x32(kc, pa, pb, pc, 32, add, pl, lines);
            Assert.That(c, Is.EqualTo(expected).AsCollection, $"add {add}");

            // The same B read in place, its rows 40 floats apart, the kernel also asking for its rows ahead (RowsAhead steps,
            // past the last row too: a prefetch never faults or reads).
            const int bStep = 40;
            float[] strided = new float[kc * bStep];
            for (int p = 0; p < kc; p++)
                Array.Copy(b, p * 32, strided, p * bStep, 32);
            c = (float[])initial.Clone();
            fixed (float* pa = a, pb = strided, pc = c)
            fixed (byte* pl = lineBuffer)
                GemmMicroKernels.Kernel8x32Strided<InPlacePanel>(kc, pa, 8, pb, bStep, pc, 32, add, pl, lines);
            Assert.That(c, Is.EqualTo(expected).AsCollection, $"add {add}, B in place, rows asked for ahead");
        }
    }

    /// <summary>The same for the AVX2 6×16 kernel, which takes its share of the plan along its K loop as the 8×32 one does.</summary>
    [TestCase(1, 0)]
    [TestCase(1, 1)]
    [TestCase(7, 3)]
    [TestCase(37, 5)]
    [TestCase(37, 37)]
    [TestCase(37, 80)]
    [TestCase(256, 128)]
    [TestCase(256, 0)]
    public void TheAvx2KernelTakesEveryKStepOnceWhateverItPrefetches(int kc, int lines)
    {
        if (!Vector256.IsHardwareAccelerated || !Fma.IsSupported)
            Assert.Ignore("the 6×16 kernel needs AVX2 and FMA");
        var rng = new Random(kc * 100 + lines + 7);
        float[] a = Enumerable.Range(0, 6 * kc).Select(_ => rng.NextSingle() - 0.5f).ToArray();   // packed: 6 per step
        float[] b = Enumerable.Range(0, kc * 16).Select(_ => rng.NextSingle() - 0.5f).ToArray();  // packed: 16 per step
        float[] initial = Enumerable.Range(0, 6 * 16).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        byte[] lineBuffer = new byte[lines * 64 + 64];

        foreach (bool add in new[] { false, true })
        {
            float[] expected = (float[])initial.Clone();
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 16; j++)
                {
                    float sum = 0f;
                    for (int p = 0; p < kc; p++)
                        sum = MathF.FusedMultiplyAdd(a[p * 6 + i], b[p * 16 + j], sum);
                    expected[i * 16 + j] = add ? expected[i * 16 + j] + sum : sum;
                }
            float[] c = (float[])initial.Clone();
            fixed (float* pa = a, pb = b, pc = c)
            fixed (byte* pl = lineBuffer)
                GemmMicroKernels.Run(GemmKernelKind.Vector256, kc, pa, pb, pc, 16, add, pl, lines);
            Assert.That(c, Is.EqualTo(expected).AsCollection, $"add {add}");

            const int bStep = 24; // B read in place, its rows 24 floats apart, asked for ahead too
            float[] strided = new float[kc * bStep];
            for (int p = 0; p < kc; p++)
                Array.Copy(b, p * 16, strided, p * bStep, 16);
            c = (float[])initial.Clone();
            fixed (float* pa = a, pb = strided, pc = c)
            fixed (byte* pl = lineBuffer)
                GemmMicroKernels.Kernel6x16Strided<InPlacePanel>(kc, pa, 6, pb, bStep, pc, 16, add, pl, lines);
            Assert.That(c, Is.EqualTo(expected).AsCollection, $"add {add}, B in place, rows asked for ahead");
        }
    }

    /// <summary>4 KB on a cache line for the plans below to walk (a prefetch never reads it).</summary>
    private float* _block;

    [SetUp]
    public void AllocateBlock()
    {
        if (!Sse.IsSupported)
            Assert.Ignore("the plan prefetches on x86 only");
        _block = (float*)NativeMemory.AlignedAlloc(4096, 64);
    }

    [TearDown]
    public void FreeBlock()
    {
        NativeMemory.AlignedFree(_block);
        _block = null;
    }

    [Test]
    public void RunsWalkAContiguousRegionInOrder()
    {
        // 4 rows of 64 floats, 64 apart: one contiguous run of 16 lines (the plan counts 17: one spare per row).
        var plan = new GemmPrefetch();
        plan.Set(new GemmPrefetch.Region(_block, 4, 64, 64), default, default, tiles: 4); // 5 lines a tile
        var runs = new List<(long Offset, int Lines)>();
        for (int tile = 0; tile < 6; tile++)
        {
            int lines = plan.TakeRun(out byte* start);
            runs.Add((lines == 0 ? -1 : start - (byte*)_block, lines));
        }
        Assert.That(runs, Is.EqualTo(new (long, int)[] { (0, 5), (320, 5), (640, 5), (960, 1), (-1, 0), (-1, 0) }));
    }

    [Test]
    public void ARunStopsAtItsRowsEndAndTheRestOfTheShareIsIssuedAtOnce()
    {
        // 4 rows of 32 floats (2 lines), 64 floats apart: 12 lines counted, 6 a tile over 2 tiles. The first tile's
        // run is row 0; the rest of its share (rows 1 and 2) is issued with it; the second tile's run is row 3.
        var plan = new GemmPrefetch();
        plan.Set(new GemmPrefetch.Region(_block, 4, 32, 64), default, default, tiles: 2);
        int first = plan.TakeRun(out byte* firstStart);
        int second = plan.TakeRun(out byte* secondStart);
        int third = plan.TakeRun(out _);
        Assert.That((first, firstStart - (byte*)_block), Is.EqualTo((2, 0L)));
        Assert.That((second, secondStart - (byte*)_block), Is.EqualTo((2, 3 * 256L)));
        Assert.That(third, Is.EqualTo(0));
    }
}
