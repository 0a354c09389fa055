using System.Numerics;

namespace NanoNet.Kernels;

/// <summary>
/// Batch normalisation over the rows of a channels-last tensor: the per-channel statistics, the
/// normalisation y = x·a + b, and the backward pass in its closed form. Backward kernels accumulate into dX.
/// </summary>
/// <remarks>
/// <para>Shape legend: x, y, dY and dX are rows × C (rows = N·H·W for NHWC images, N·T for sequences);
/// every per-channel vector (mean, variance, a, b, the backward coefficients and sums) is C.
/// M = rows is the count each statistic averages over.</para>
/// <para>Forward (training): one pass for the statistics, one for the normalisation. Statistics are
/// shifted sums Σ(x − K) and Σ(x − K)² with K = the first row (so the variance does not suffer the
/// cancellation of E[x²] − E[x]²): mean = K + S₁/M, variance = S₂/M − (S₁/M)² (biased, as Keras).
/// The normalisation with a = γ/√(var + ε), b = β − mean·a is a multiply-add per element.</para>
/// <para>Backward (training), with x̂ = (x − mean)·invStd: dβ = Σ dy, dγ = invStd·Σ dy·(x − mean), and
/// dx = γ·invStd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), which is dx = k₁·dy + k₂·x + k₀ with per-channel
/// k₁ = γ·invStd, k₂ = −γ·invStd³·Σdy(x − mean)/M, k₀ = −γ·invStd·Σdy/M − k₂·mean: one pass for the two
/// sums, one for dx. (Inference: dx = a·dy.)</para>
/// <para>Sums run per chunk of rows (the chunking depends on the shape alone), then the chunks' partial
/// sums are added in chunk order in double, so results are the same bits at any thread count.</para>
/// </remarks>
public static unsafe class BatchNormKernels
{
    /// <summary>About 16 K elements (64 KB of x) per chunk: the chunk's rows stay in L2 and the partial sums in L1.</summary>
    private const int ChunkElements = 1 << 14;

    /// <summary>Rows summed together before their partial sums are combined.</summary>
    public static int RowsPerChunk(int channels) => Math.Max(1, ChunkElements / Math.Max(1, channels));

    /// <summary>The scratch <see cref="Statistics"/> and <see cref="BackwardSums"/> need: two partial sums per chunk and channel.</summary>
    public static int ScratchLength(int rows, int channels) => 2 * Chunks(rows, channels) * channels;

    private static int Chunks(int rows, int channels) => (rows + RowsPerChunk(channels) - 1) / RowsPerChunk(channels);

    /// <summary>Per channel, the batch mean and the biased variance of the rows of <paramref name="x"/>.</summary>
    public static void Statistics(ReadOnlySpan<float> x, int rows, int channels, Span<float> mean, Span<float> variance, Span<float> scratch)
    {
        Check(x.Length, rows, channels, mean.Length, variance.Length);
        if (rows == 0)
            throw new ArgumentException("BatchNormalization: statistics of zero rows are undefined.");
        int chunks = Chunks(rows, channels);
        if (scratch.Length < 2 * chunks * channels)
            throw new ArgumentException($"BatchNormalization: scratch holds {scratch.Length} floats, {2 * chunks * channels} needed.");
        fixed (float* px = x, ps = scratch)
            ReduceTiles.Run(new StatisticsBody(px, ps, rows, channels), chunks, 1, x.Length);
        ReadOnlySpan<float> shift = x[..channels];
        for (int c = 0; c < channels; c++)
        {
            (double s1, double s2) = CombineChunks(scratch, chunks, channels, c);
            double m = s1 / rows;
            mean[c] = (float)(shift[c] + m);
            variance[c] = (float)Math.Max(s2 / rows - m * m, 0);
        }
    }

    /// <summary>y = x·a + b per channel (a and b as in the remarks; inference passes the moving statistics' a and b).</summary>
    public static void Normalize(ReadOnlySpan<float> x, int rows, int channels, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        Check(x.Length, rows, channels, a.Length, b.Length);
        if (y.Length != x.Length)
            throw new ArgumentException($"BatchNormalization: output holds {y.Length} floats, the input {x.Length}.");
        fixed (float* px = x, pa = a, pb = b, py = y)
            ReduceTiles.Run(new AffineBody(px, null, pa, pb, null, py, rows, channels), Chunks(rows, channels), 1, x.Length);
    }

    /// <summary>Per channel, Σ dy (into <paramref name="sumDy"/>) and Σ dy·(x − mean) (into <paramref name="sumDyCentered"/>), both overwritten.</summary>
    public static void BackwardSums(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, int rows, int channels, ReadOnlySpan<float> mean,
        Span<float> sumDy, Span<float> sumDyCentered, Span<float> scratch)
    {
        Check(x.Length, rows, channels, mean.Length, sumDy.Length);
        Check(dY.Length, rows, channels, sumDyCentered.Length, channels);
        int chunks = Chunks(rows, channels);
        if (scratch.Length < 2 * chunks * channels)
            throw new ArgumentException($"BatchNormalization: scratch holds {scratch.Length} floats, {2 * chunks * channels} needed.");
        fixed (float* px = x, pdy = dY, pm = mean, ps = scratch)
            ReduceTiles.Run(new BackwardSumsBody(px, pdy, pm, ps, rows, channels), chunks, 1, x.Length);
        for (int c = 0; c < channels; c++)
        {
            (double s1, double s2) = CombineChunks(scratch, chunks, channels, c);
            sumDy[c] = (float)s1;
            sumDyCentered[c] = (float)s2;
        }
    }

    /// <summary>dX += k₁·dy + k₂·x + k₀ per channel (training: the closed form above; inference: k₁ = a, k₂ = k₀ = 0).</summary>
    public static void BackwardInput(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, int rows, int channels,
        ReadOnlySpan<float> k1, ReadOnlySpan<float> k2, ReadOnlySpan<float> k0, Span<float> dX)
    {
        Check(x.Length, rows, channels, k1.Length, k2.Length);
        Check(dY.Length, rows, channels, k0.Length, channels);
        if (dX.Length != x.Length)
            throw new ArgumentException($"BatchNormalization: dX holds {dX.Length} floats, the input {x.Length}.");
        fixed (float* px = x, pdy = dY, p1 = k1, p2 = k2, p0 = k0, pdx = dX)
            ReduceTiles.Run(new AffineBody(pdy, px, p1, p0, p2, pdx, rows, channels), Chunks(rows, channels), 1, x.Length);
    }

    private static (double S1, double S2) CombineChunks(ReadOnlySpan<float> scratch, int chunks, int channels, int c)
    {
        double s1 = 0, s2 = 0;
        for (int k = 0; k < chunks; k++)
        {
            s1 += scratch[2 * k * channels + c];
            s2 += scratch[(2 * k + 1) * channels + c];
        }
        return (s1, s2);
    }

    private static void Check(int length, int rows, int channels, int vector0, int vector1)
    {
        if (rows < 0 || channels <= 0 || length != (long)rows * channels || vector0 != channels || vector1 != channels)
            throw new ArgumentException($"BatchNormalization: {rows} rows of {channels} channels need {(long)rows * channels} elements and per-channel vectors of {channels}, got {length}, {vector0} and {vector1}.");
    }

    /// <summary>Chunk k's Σ(x − K) and Σ(x − K)² per channel into scratch[2k·C ..] and scratch[(2k + 1)·C ..]; K = row 0.</summary>
    private readonly struct StatisticsBody(float* x, float* scratch, int rows, int channels) : ITileBody
    {
        public void Run(int chunk, int unused, int one)
        {
            int per = RowsPerChunk(channels), first = chunk * per, end = Math.Min(rows, first + per);
            float* s1 = scratch + 2L * chunk * channels, s2 = s1 + channels;
            new Span<float>(s1, 2 * channels).Clear();
            for (int r = first; r < end; r++)
            {
                float* row = x + (long)r * channels;
                int c = 0;
                for (; c <= channels - Vector<float>.Count; c += Vector<float>.Count)
                {
                    Vector<float> d = Vector.Load(row + c) - Vector.Load(x + c);
                    (Vector.Load(s1 + c) + d).Store(s1 + c);
                    (Vector.Load(s2 + c) + d * d).Store(s2 + c);
                }
                for (; c < channels; c++)
                {
                    float d = row[c] - x[c];
                    s1[c] += d;
                    s2[c] += d * d;
                }
            }
        }
    }

    /// <summary>Chunk k's Σ dy and Σ dy·(x − mean) per channel into scratch[2k·C ..] and scratch[(2k + 1)·C ..].</summary>
    private readonly struct BackwardSumsBody(float* x, float* dY, float* mean, float* scratch, int rows, int channels) : ITileBody
    {
        public void Run(int chunk, int unused, int one)
        {
            int per = RowsPerChunk(channels), first = chunk * per, end = Math.Min(rows, first + per);
            float* s1 = scratch + 2L * chunk * channels, s2 = s1 + channels;
            new Span<float>(s1, 2 * channels).Clear();
            for (int r = first; r < end; r++)
            {
                float* row = x + (long)r * channels, dyRow = dY + (long)r * channels;
                int c = 0;
                for (; c <= channels - Vector<float>.Count; c += Vector<float>.Count)
                {
                    Vector<float> dy = Vector.Load(dyRow + c);
                    (Vector.Load(s1 + c) + dy).Store(s1 + c);
                    (Vector.Load(s2 + c) + dy * (Vector.Load(row + c) - Vector.Load(mean + c))).Store(s2 + c);
                }
                for (; c < channels; c++)
                {
                    s1[c] += dyRow[c];
                    s2[c] += dyRow[c] * (row[c] - mean[c]);
                }
            }
        }
    }

    /// <summary>
    /// Per row, out = u·a + b (forward: u = x), or out += u·a + v·e + b (backward: u = dy, v = x, a = k₁,
    /// e = k₂, b = k₀) when <c>v</c> is given.
    /// </summary>
    private readonly struct AffineBody(float* u, float* v, float* a, float* b, float* e, float* output, int rows, int channels) : ITileBody
    {
        public void Run(int chunk, int unused, int one)
        {
            int per = RowsPerChunk(channels), first = chunk * per, end = Math.Min(rows, first + per);
            for (int r = first; r < end; r++)
            {
                long at = (long)r * channels;
                float* ur = u + at, outRow = output + at;
                int c = 0;
                if (v is null)
                {
                    for (; c <= channels - Vector<float>.Count; c += Vector<float>.Count)
                        (Vector.Load(ur + c) * Vector.Load(a + c) + Vector.Load(b + c)).Store(outRow + c);
                    for (; c < channels; c++)
                        outRow[c] = ur[c] * a[c] + b[c];
                }
                else
                {
                    float* vr = v + at;
                    for (; c <= channels - Vector<float>.Count; c += Vector<float>.Count)
                        (Vector.Load(outRow + c) + (Vector.Load(ur + c) * Vector.Load(a + c) + Vector.Load(vr + c) * Vector.Load(e + c) + Vector.Load(b + c))).Store(outRow + c);
                    for (; c < channels; c++)
                        outRow[c] += ur[c] * a[c] + vr[c] * e[c] + b[c];
                }
            }
        }
    }
}
