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
    private static readonly object[] Runs =
    [
        new object[] { 1, 0 },
        new object[] { 1, 1 },
        new object[] { 7, 3 },
        new object[] { 37, 5 },   // 7 steps between prefetches, the last piece 2 steps long
        new object[] { 37, 37 },
        new object[] { 37, 80 },  // more lines than steps
        new object[] { 256, 128 },
        new object[] { 256, 0 },
    ];

    [TestCaseSource(nameof(Runs))]
    public void TheKernelTakesEveryKStepOnceWhateverItPrefetches(int kc, int lines)
    {
        if (!Vector512.IsHardwareAccelerated)
            Assert.Ignore("the 8×32 kernel needs AVX-512");
        CheckKStepsOnce(8, 32, kc, lines, seed: kc * 100 + lines,
            (a, b, bStep, c, add, run, count, inPlace) =>
            {
                if (inPlace)
                    GemmMicroKernels.Kernel8x32Strided<InPlacePanel>(kc, a, 8, b, bStep, c, 32, add, run, count);
                else
                    GemmMicroKernels.Kernel8x32(kc, a, b, c, 32, add, run, count);
            });
    }

    /// <summary>The same for the AVX2 6×16 kernel, which takes its share of the plan along its K loop as the 8×32 one does.</summary>
    [TestCaseSource(nameof(Runs))]
    public void TheAvx2KernelTakesEveryKStepOnceWhateverItPrefetches(int kc, int lines)
    {
        if (!Vector256.IsHardwareAccelerated || !Fma.IsSupported)
            Assert.Ignore("the 6×16 kernel needs AVX2 and FMA");
        CheckKStepsOnce(6, 16, kc, lines, seed: kc * 100 + lines + 7,
            (a, b, bStep, c, add, run, count, inPlace) =>
            {
                if (inPlace)
                    GemmMicroKernels.Kernel6x16Strided<InPlacePanel>(kc, a, 6, b, bStep, c, 16, add, run, count);
                else
                    GemmMicroKernels.Run(GemmKernelKind.Vector256, kc, a, b, c, 16, add, run, count);
            });
    }

    /// <summary>One tile call: packed A (mr a step) against B packed (nr a step) or in place (bStep a step), into C (nr a row),
    /// asked to prefetch <c>count</c> lines from <c>run</c>.</summary>
    private delegate void TileCall(float* a, float* b, int bStep, float* c, bool add, byte* run, int count, bool inPlace);

    /// <summary>
    /// An mr×nr tile over kc steps, stored and added, B packed and then in place (its rows nr + 8 floats apart, the kernel
    /// also asking for its rows ahead, past the last row too: a prefetch never faults or reads), against the kernel's own
    /// order: each accumulator from 0, one FMA per step, then C stored or added to.
    /// </summary>
    private static void CheckKStepsOnce(int mr, int nr, int kc, int lines, int seed, TileCall call)
    {
        var rng = new Random(seed);
        float[] a = Enumerable.Range(0, mr * kc).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] b = Enumerable.Range(0, kc * nr).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] initial = Enumerable.Range(0, mr * nr).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        byte[] lineBuffer = new byte[lines * 64 + 64];
        int bStep = nr + 8;
        float[] strided = new float[kc * bStep];
        for (int p = 0; p < kc; p++)
            Array.Copy(b, p * nr, strided, p * bStep, nr);

        foreach (bool add in new[] { false, true })
        {
            float[] expected = (float[])initial.Clone();
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++)
                {
                    float sum = 0f;
                    for (int p = 0; p < kc; p++)
                        sum = MathF.FusedMultiplyAdd(a[p * mr + i], b[p * nr + j], sum);
                    expected[i * nr + j] = add ? expected[i * nr + j] + sum : sum;
                }
            foreach (bool inPlace in new[] { false, true })
            {
                float[] c = (float[])initial.Clone();
                fixed (float* pa = a, pb = inPlace ? strided : b, pc = c)
                fixed (byte* pl = lineBuffer)
                    call(pa, pb, inPlace ? bStep : nr, pc, add, pl, lines, inPlace);
                Assert.That(c, Is.EqualTo(expected).AsCollection, $"add {add}, B {(inPlace ? "in place, rows asked for ahead" : "packed")}");
            }
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
