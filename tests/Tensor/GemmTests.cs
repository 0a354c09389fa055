using NanoNet.Kernels;

namespace NanoNet.Tests;

public class GemmTests
{
    private static readonly int[][] AwkwardShapes =
    [
        [1, 1, 1], [7, 13, 5], [1000, 3, 1000], [1, 4096, 1], [513, 257, 129], [8, 32, 256],
        [9, 33, 257], [40, 32, 600], [57, 32, 28], [96, 1024, 7], [64, 128, 7200], [3, 1, 600], [17, 50, 1],
        [40, 700, 300], // M ≤ MC: narrower column tiles (SkinnyNC), the last one partial, and the next tile prefetched
        [200, 700, 48], // K < KC and M > MC (on every recorded machine): all of M in one packed-A block (Gemm.RowBlock)
    ];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int[] s in AwkwardShapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return new TestCaseData(s[0], s[1], s[2], ta, tb).SetName($"Gemm_{s[0]}x{s[1]}x{s[2]}_tA{(ta ? 1 : 0)}_tB{(tb ? 1 : 0)}");
    }

    private static IEnumerable<GemmKernelKind> SupportedKernels()
    {
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) yield return GemmKernelKind.Vector512;
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated) yield return GemmKernelKind.Vector256;
        // Both 128-bit tiles run on any machine with Vector128: the ARM64 one is checked on x86 too.
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            yield return GemmKernelKind.Vector128;
            yield return GemmKernelKind.Vector128Arm64;
        }
        yield return GemmKernelKind.Scalar;
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        float[] a = RandomArray(m * k, rng), b = RandomArray(k * n, rng);
        int lda = transA ? m : k, ldb = transB ? k : n;
        float[] expected = RandomArray(m * n, rng);
        float[] initial = (float[])expected.Clone();
        GemmReference.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expected, n, accumulate: true);

        foreach (GemmKernelKind kind in SupportedKernels())
        {
            float[] c = (float[])initial.Clone();
            Gemm.Multiply(kind, transA, transB, m, n, k, a, lda, b, ldb, c, n, accumulate: true);
            AssertClose(expected, c, k, kind.ToString());

            float[] overwrite = RandomArray(m * n, rng); // garbage must be ignored when not accumulating
            Gemm.Multiply(kind, transA, transB, m, n, k, a, lda, b, ldb, overwrite, n, accumulate: false);
            float[] expectedOverwrite = new float[m * n];
            GemmReference.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expectedOverwrite, n, accumulate: false);
            AssertClose(expectedOverwrite, overwrite, k, kind + " overwrite");
        }
    }

    [Test]
    public void TheMachinesKernelIsTheWidestAccelerated()
    {
        GemmKernelKind expected = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? GemmKernelKind.Vector512
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? GemmKernelKind.Vector256
            : !System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? GemmKernelKind.Scalar
            : System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64
                ? GemmKernelKind.Vector128Arm64 : GemmKernelKind.Vector128;
        Assert.That(Gemm.BestKernel, Is.EqualTo(expected));
        foreach (GemmKernelKind kind in Enum.GetValues<GemmKernelKind>())
        {
            (int mr, int nr) = GemmMicroKernels.TileSize(kind);
            Assert.That(Gemm.MC % mr, Is.Zero, $"MC is a whole number of {kind} strips");
            Assert.That(Gemm.MaxNC % nr, Is.Zero, $"NC is a whole number of {kind} panels");
            Assert.That(mr * nr, Is.LessThanOrEqualTo(GemmMicroKernels.MaxTileElements));
        }
    }

    /// <summary>
    /// .ci/run reruns the kernel tests with AVX-512 or AVX switched off and names the kernel it expects,
    /// so a runtime switch that silently stops working fails here instead of re-testing the same path.
    /// </summary>
    [Test]
    public void TheWidthSwitchOfTheCiRunTookEffect()
    {
        string? expected = Environment.GetEnvironmentVariable("NANONET_EXPECT_GEMM_KERNEL");
        if (string.IsNullOrEmpty(expected))
            return; // a normal run: nothing was switched off
        Assert.That(Gemm.BestKernel.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void RespectsLeadingDimensions()
    {
        // A 5x4 window inside 5x9 storage, B 4x3 inside 4x6, C 5x3 inside 5x8: padding columns stay untouched.
        var rng = new Random(5);
        float[] a = RandomArray(5 * 9, rng), b = RandomArray(4 * 6, rng);
        float[] c = Enumerable.Repeat(42f, 5 * 8).ToArray();
        float[] expected = (float[])c.Clone();
        GemmReference.Multiply(false, false, 5, 3, 4, a, 9, b, 6, expected, 8, accumulate: false);
        Gemm.Multiply(false, false, 5, 3, 4, a, 9, b, 6, c, 8);
        AssertClose(expected, c, 4, "ld");
        Assert.That(c[3], Is.EqualTo(42f));
    }

    // The square-ish default, and the Dense layers' skinny shapes: forward (M = 64, K long), dX (Bᵀ, N long), dW (Aᵀ, K = 64).
    [TestCase(300, 500, 700, false, true)]
    [TestCase(64, 128, 3000, false, false)]
    [TestCase(64, 1000, 128, false, true)]
    [TestCase(1000, 128, 64, true, false)]
    // Split by K (GemmKSplit): the CIFAR-10 Dense forward, and a transposed, partial-panel one.
    [TestCase(64, 128, 7200, false, false)]
    [TestCase(27, 100, 5000, true, true)]
    public void IsBitwiseIdenticalAcrossThreadCounts(int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Random(9);
        float[] a = RandomArray(m * k, rng), b = RandomArray(k * n, rng);
        float[] one = new float[m * n], two = new float[m * n];
        int lda = transA ? m : k, ldb = transB ? k : n;
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, one, n);
            Parallelism.MaxThreads = 2;
            Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, two, n);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
        Assert.That(two, Is.EqualTo(one).AsCollection);
    }

    /// <summary>
    /// A product with K shorter than a slab takes all of M in one packed-A block when it fits MC×KC (rounded up to whole
    /// strips of every kernel), else MC rows: the CIFAR-10 seed's dX (64×7200×128) on the Zen 3 core's blocking (KC 256,
    /// MC 48), not on the Zen 5 (MC 96) or Emerald Rapids (MC 192) ones, where 64 rows are one block anyway.
    /// </summary>
    [TestCase(64, 128, 256, 48, 72)]     // Zen 3: 72×128 ≤ 48×256
    [TestCase(64, 128, 256, 96, 96)]     // Zen 5: M ≤ MC already
    [TestCase(64, 128, 256, 192, 192)]   // Emerald Rapids
    [TestCase(64, 256, 256, 48, 48)]     // K a whole slab: MC
    [TestCase(200, 48, 256, 48, 216)]    // 216×48 ≤ 48×256
    [TestCase(200, 60, 256, 48, 48)]     // 216×60 > 48×256: does not fit, MC
    [TestCase(49, 100, 256, 48, 72)]
    public void AShortKProductTakesAllItsRowsInOneBlockWhenTheyFit(int m, int k, int kc, int mc, int expected)
    {
        Assert.That(Gemm.RowBlock(m, k, mc, kc), Is.EqualTo(expected));
        Assert.That(expected % 24, Is.Zero, "a whole number of 8-, 6- and 4-row strips");
    }

    /// <summary>One row block or MC-row blocks: the same bits (the rows of C never meet in a sum), at 1 and 2 threads.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public void OneRowBlockGivesTheBitsOfSeveral(bool transB)
    {
        const int m = 200, n = 700, k = 48;
        var rng = new Random(23);
        float[] a = RandomArray(m * k, rng), b = RandomArray(k * n, rng);
        int ldb = transB ? k : n;
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Parallelism.MaxThreads = threads;
                float[] one = new float[m * n], several = new float[m * n];
                Gemm.Multiply(false, transB, m, n, k, a, k, b, ldb, one, n);
                Gemm.OneRowBlockForShortK = false;
                Gemm.Multiply(false, transB, m, n, k, a, k, b, ldb, several, n);
                Gemm.OneRowBlockForShortK = true;
                Assert.That(one, Is.EqualTo(several).AsCollection, $"{threads} thread(s)");
            }
        }
        finally
        {
            Gemm.OneRowBlockForShortK = true;
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>
    /// Workers take the tiles of their own home range first, then what is left in the others (Gemm's TakeTile): at 2, 3
    /// and 5 workers (more than the tiles' ranges divide evenly), accumulating into a C of ones, every tile must be added
    /// exactly once — a tile taken twice would add its product twice, a tile never taken would leave ones.
    /// </summary>
    [TestCase(300, 500, 700, false, true)]
    [TestCase(64, 1000, 128, false, true)]
    [TestCase(200, 2000, 50, false, false)]
    [TestCase(1000, 128, 64, true, false)]
    [TestCase(200, 700, 48, false, true)] // one row block (Gemm.RowBlock)
    public void EveryTileIsAddedOnceAtAnyWorkerCount(int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Random(17);
        float[] a = RandomArray(m * k, rng), b = RandomArray(k * n, rng);
        int lda = transA ? m : k, ldb = transB ? k : n;
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = 1;
            float[] expected = [.. Enumerable.Repeat(1f, m * n)];
            Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expected, n, accumulate: true);
            foreach (int threads in new[] { 2, 3, 5 })
            {
                Parallelism.MaxThreads = threads;
                float[] c = [.. Enumerable.Repeat(1f, m * n)];
                Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, n, accumulate: true);
                Assert.That(c, Is.EqualTo(expected).AsCollection, $"{threads} workers");
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void TooSmallBufferNamesTheOperand()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(false, false, 4, 4, 4, new float[16], 4, new float[15], 4, new float[16], 4));
        Assert.That(ex!.Message, Does.Contain("B is 4x4"));
    }

    [Test]
    public void ZeroInnerDimensionClearsOrKeeps()
    {
        float[] c = [1, 2, 3, 4];
        Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 2, c, 2, accumulate: true);
        Assert.That(c, Is.EqualTo(new float[] { 1, 2, 3, 4 }).AsCollection);
        Gemm.Multiply(false, false, 2, 2, 0, [], 0, [], 2, c, 2);
        Assert.That(c, Is.EqualTo(new float[4]).AsCollection);
    }

    private static float[] RandomArray(int length, Random rng)
    {
        var result = new float[length];
        for (int i = 0; i < length; i++)
            result[i] = rng.NextSingle() * 2f - 1f;
        return result;
    }

    private static void AssertClose(float[] expected, float[] actual, int k, string what)
    {
        // Float32 error of a length-k dot product of values in [-1, 1] grows like sqrt(k)·ulp.
        float tolerance = 1e-5f * MathF.Max(1f, MathF.Sqrt(k)) * 4f;
        for (int i = 0; i < expected.Length; i++)
            if (MathF.Abs(expected[i] - actual[i]) > tolerance * MathF.Max(1f, MathF.Abs(expected[i])))
                Assert.Fail($"{what}: element {i}: expected {expected[i]}, got {actual[i]}");
    }
}

public unsafe class PackedGemmTests
{
    [TestCase(32, 512, 128, false)]
    [TestCase(7, 45, 300, false)]
    [TestCase(9, 33, 600, true)]
    [TestCase(64, 7, 3, true)]
    [TestCase(40, 32, 600, false)] // one B panel: K whole (Gemm.SinglePanelSlab), the packed slabs read as one K×32 panel
    public void PrepackedBGivesTheSameBits(int m, int n, int k, bool transA)
    {
        var rng = new Random(m + n + k);
        float[] a = Enumerable.Range(0, m * k).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] b = Enumerable.Range(0, k * n).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] expected = Enumerable.Range(0, m * n).Select(_ => rng.NextSingle()).ToArray();
        float[] actual = (float[])expected.Clone();
        int lda = transA ? m : k;
        NanoNet.Kernels.Gemm.Multiply(transA, false, m, n, k, a, lda, b, n, expected, n, accumulate: true);
        var packed = NanoNet.Kernels.PackedMatrix.Pack(false, k, n, b, n);
        NanoNet.Kernels.Gemm.Multiply(transA, m, n, k, a, lda, packed, actual, n, accumulate: true);
        Assert.That(actual, Is.EqualTo(expected).AsCollection);
    }

    // Sized for a 1 MB L2 (half: 512 KB); on a bigger L2 the big operand's long side (K, M for an A in place, N for Cᵀ) grows until the
    // operand outgrows half of it again, and the test first checks that the product does read it in place.
    // B in place (M ≤ 64, B not transposed, over half of L2): a Dense forward over five K slabs, a partial last panel
    // (700 = 21·32 + 28), edge strips (13 rows). A in place (Aᵀ outweighing B, one K slab, over half of L2): a weight
    // gradient, a partial panel (45 columns), edge strips (1003 rows).
    [TestCase(64, 128, 1100, false)]
    [TestCase(40, 700, 300, false)]
    [TestCase(13, 100, 1400, true)]
    [TestCase(2100, 128, 64, true)]
    [TestCase(2300, 45, 60, true)]
    [TestCase(1003, 64, 140, true)]
    // Cᵀ = B·Aᵀ (B stored N×K over half of L2, 8 ≤ M ≤ 32: the Keras Dense dX): one B' panel (M = 32) with an edge strip
    // (700 = 87·8 + 4 rows of Cᵀ), a partial panel (M = 13), K slabs beyond the whole-K limit (M = 27; within it, K is
    // taken whole, one chain instead of the packed path's per-slab ones: GemmDirectASlabTests), M = 8; M = 64 stays packed.
    // On the 6×16 kernel (two B' panels of 16): edge strips of 4 (700 = 116·6 + 4), 2 (200, 20000), 5 (1103) and 1 (1201)
    // rows of Cᵀ, partial panels (M = 13, 27, 20), K slabs (512, 9000), whole 6×16 tiles stored through two 8×8 transposes.
    [TestCase(32, 700, 200, false, true)]
    [TestCase(13, 1500, 100, false, true)]
    [TestCase(27, 200, 9000, false, true)]
    [TestCase(8, 20000, 8, false, true)]
    [TestCase(20, 1103, 150, false, true)]
    [TestCase(16, 1201, 512, false, true)]
    [TestCase(64, 1100, 128, false, true, false)]
    [NonParallelizable] // switches Gemm.ReadsInPlace and Gemm.AsksInPlaceRowsAhead
    public void ReadingTheBigOperandInPlaceGivesThePackedBits(int m, int n, int k, bool transA, bool transB = false, bool readsInPlace = true)
    {
        long scale = Math.Max(1, (Gemm.HalfL2Bytes + 512 * 1024 - 1) / (512 * 1024));
        if (transB)
            n = n / 8 * (int)scale * 8 + n % 8; // K stays: the Cᵀ path's K slabs (whole up to a limit) stay the packed path's
        else if (transA && m >= n)
            m *= (int)scale;
        else
            k *= (int)scale;
        // The 8×32 and 6×16 kernels read an operand in place: on the 128-bit ones (CI's run without AVX) both calls pack.
        bool expected = readsInPlace && Gemm.BestKernel is GemmKernelKind.Vector512 or GemmKernelKind.Vector256;
        bool takesInPlacePath = Gemm.ChooseInPlace(Gemm.BestKernel, transA, transB, m, n, k, k) != InPlace.None
            || Gemm.TransposesC(Gemm.BestKernel, transA, transB, m, n, k, null);
        Assert.That(takesInPlacePath, Is.EqualTo(expected), $"{m}x{n}x{k} on {Gemm.BestKernel} read in place (half of L2: {Gemm.HalfL2Bytes} bytes)");
        var rng = new Random(m * 3 + n + k);
        float[] Random(int length) => Enumerable.Range(0, length).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] a = Random(m * k), b = Random(k * n), initial = Random(m * n);
        int lda = transA ? m : k, ldb = transB ? k : n;
        // The K slabs each path cuts: on the 8×32 kernel the Cᵀ product (N′ = M ≤ 32 columns, one panel) takes K whole up
        // to a limit (Gemm.SinglePanelSlab), where the packed product of N = n columns cuts KC slabs: past KC (K = 512 on a
        // 32 KB L1d's KC = 256) the two give each element other sums, and the Cᵀ path is checked against its own order.
        bool transposesC = Gemm.TransposesC(Gemm.BestKernel, transA, transB, m, n, k, null);
        int packedSlab = Gemm.BestKernel == GemmKernelKind.Vector512 ? Gemm.SinglePanelSlab(transA, n, k) : Gemm.KC;
        int inPlaceSlab = transposesC && Gemm.BestKernel == GemmKernelKind.Vector512 ? Gemm.SinglePanelSlab(false, m, k) : packedSlab;
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
                foreach (bool accumulate in new[] { false, true })
                {
                    Parallelism.MaxThreads = threads;
                    float[] packed = (float[])initial.Clone();
                    Gemm.ReadsInPlace = false;
                    Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, packed, n, accumulate);
                    Gemm.ReadsInPlace = true;
                    if (inPlaceSlab != packedSlab) // one FMA chain per element and slab, from zero, then added to C
                        packed = GemmDirectASlabTests.Chains(m, n, k, a, b, transA, transB, initial, accumulate, inPlaceSlab);
                    // B's panels read in place with and without their rows asked for ahead (InPlacePanel): no value changes.
                    foreach (bool rowsAhead in new[] { true, false })
                    {
                        float[] inPlace = (float[])initial.Clone();
                        Gemm.AsksInPlaceRowsAhead = rowsAhead;
                        Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, inPlace, n, accumulate);
                        Assert.That(inPlace, Is.EqualTo(packed).AsCollection, $"{threads} thread(s), accumulate {accumulate}, rows ahead {rowsAhead}");
                    }
                }
        }
        finally
        {
            Gemm.ReadsInPlace = true;
            Gemm.AsksInPlaceRowsAhead = true;
            Parallelism.MaxThreads = saved;
        }
    }
}
