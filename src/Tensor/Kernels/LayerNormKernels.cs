using System.Numerics;
using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Layer normalisation of each row over its last axis, forward and backward. Backward accumulates into dX.
/// </summary>
/// <remarks>
/// <para>Shape legend: x, y, dY, dX are rows × C (rows = N·T for (N, T, C) sequences); gamma, beta, dGamma,
/// dBeta are C; mean and invStd are rows (saved by forward for backward).</para>
/// <para>Forward per row: μ = mean(x), σ² = mean((x − μ)²) (biased; the row is in L1, so the two passes over
/// it cost one read from memory), invStd = 1/√(σ² + ε), y = (x − μ)·invStd·γ + β.</para>
/// <para>Backward per row, with x̂ = (x − μ)·invStd and g = dy·γ:
/// dx = invStd·(g − mean(g) − x̂·mean(g·x̂)); and over all rows dγ = Σ dy·x̂, dβ = Σ dy.</para>
/// <para>Rows are independent, so threads split them freely; dγ and dβ are summed per chunk of rows (the
/// chunking depends on the shape alone) and the chunks added in order, so results are the same bits at
/// any thread count.</para>
/// </remarks>
public static unsafe class LayerNormKernels
{
    /// <summary>About 16 K elements per chunk of rows.</summary>
    private const int ChunkElements = 1 << 14;

    private static int RowsPerChunk(int channels) => Math.Max(1, ChunkElements / Math.Max(1, channels));

    private static int Chunks(int rows, int channels) => (rows + RowsPerChunk(channels) - 1) / RowsPerChunk(channels);

    /// <summary>The scratch <see cref="Backward"/> needs: partial dγ and dβ per chunk of rows.</summary>
    public static int ScratchLength(int rows, int channels) => 2 * Chunks(rows, channels) * channels;

    /// <summary>y = (x − μ)·invStd·γ + β per row; writes each row's μ and invStd. Empty γ means 1, empty β means 0.</summary>
    public static void Forward(ReadOnlySpan<float> x, int rows, int channels, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon,
        Span<float> y, Span<float> mean, Span<float> invStd)
    {
        Check(x.Length, rows, channels, gamma, beta);
        if (y.Length != x.Length || mean.Length != rows || invStd.Length != rows)
            throw new ArgumentException($"LayerNormalization: output {y.Length}, mean {mean.Length} and invStd {invStd.Length} do not fit {rows} rows of {channels}.");
        fixed (float* px = x, pg = gamma, pb = beta, py = y, pm = mean, ps = invStd)
            ReduceTiles.Run(new ForwardBody(px, pg, pb, epsilon, py, pm, ps, rows, channels), Chunks(rows, channels), 1, x.Length);
    }

    /// <summary>dX += the rows' closed form; dGamma += Σ dy·x̂ and dBeta += Σ dy. Empty spans skip that gradient.</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, int rows, int channels, ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, Span<float> dX, Span<float> dGamma, Span<float> dBeta, Span<float> scratch)
    {
        Check(x.Length, rows, channels, gamma, default);
        int chunks = Chunks(rows, channels);
        if (dY.Length != x.Length || mean.Length != rows || invStd.Length != rows || (!dX.IsEmpty && dX.Length != x.Length)
            || (!dGamma.IsEmpty && dGamma.Length != channels) || (!dBeta.IsEmpty && dBeta.Length != channels) || scratch.Length < 2 * chunks * channels)
            throw new ArgumentException($"LayerNormalization backward: the buffers do not fit {rows} rows of {channels} channels.");
        fixed (float* px = x, pdy = dY, pg = gamma, pm = mean, ps = invStd, pdx = dX, pscratch = scratch)
            ReduceTiles.Run(new BackwardBody(px, pdy, pg, pm, ps, pdx, pscratch, rows, channels), chunks, 1, x.Length);
        for (int k = 0; k < chunks; k++)
        {
            if (!dGamma.IsEmpty)
                TensorPrimitives.Add(dGamma, scratch.Slice(2 * k * channels, channels), dGamma);
            if (!dBeta.IsEmpty)
                TensorPrimitives.Add(dBeta, scratch.Slice((2 * k + 1) * channels, channels), dBeta);
        }
    }

    private static void Check(int length, int rows, int channels, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta)
    {
        if (rows < 0 || channels <= 0 || length != (long)rows * channels || (!gamma.IsEmpty && gamma.Length != channels) || (!beta.IsEmpty && beta.Length != channels))
            throw new ArgumentException($"LayerNormalization: {rows} rows of {channels} need {(long)rows * channels} elements and γ, β of {channels}; got {length}, {gamma.Length} and {beta.Length}.");
    }

    private readonly struct ForwardBody(float* x, float* gamma, float* beta, float epsilon, float* y, float* mean, float* invStd, int rows, int channels) : ITileBody
    {
        public void Run(int chunk, int unused, int one)
        {
            int per = RowsPerChunk(channels), first = chunk * per, end = Math.Min(rows, first + per);
            for (int r = first; r < end; r++)
            {
                var row = new ReadOnlySpan<float>(x + (long)r * channels, channels);
                float m = TensorPrimitives.Sum(row) / channels;
                int c = 0;
                var accumulator = Vector<float>.Zero;
                var vm = new Vector<float>(m);
                float* xr = x + (long)r * channels, yr = y + (long)r * channels;
                for (; c <= channels - Vector<float>.Count; c += Vector<float>.Count)
                {
                    Vector<float> d = Vector.Load(xr + c) - vm;
                    accumulator += d * d;
                }
                float squares = Vector.Sum(accumulator);
                for (; c < channels; c++)
                    squares += (xr[c] - m) * (xr[c] - m);
                float s = 1f / MathF.Sqrt(squares / channels + epsilon);
                mean[r] = m;
                invStd[r] = s;
                var vs = new Vector<float>(s);
                c = 0;
                for (; c <= channels - Vector<float>.Count; c += Vector<float>.Count)
                {
                    Vector<float> v = (Vector.Load(xr + c) - vm) * vs;
                    if (gamma is not null)
                        v *= Vector.Load(gamma + c);
                    if (beta is not null)
                        v += Vector.Load(beta + c);
                    v.Store(yr + c);
                }
                for (; c < channels; c++)
                {
                    float v = (xr[c] - m) * s;
                    if (gamma is not null)
                        v *= gamma[c];
                    if (beta is not null)
                        v += beta[c];
                    yr[c] = v;
                }
            }
        }
    }

    /// <summary>One chunk of rows: dx for each, and the chunk's partial dγ (scratch[2k·C ..]) and dβ (scratch[(2k + 1)·C ..]).</summary>
    private readonly struct BackwardBody(float* x, float* dY, float* gamma, float* mean, float* invStd, float* dX, float* scratch, int rows, int channels) : ITileBody
    {
        public void Run(int chunk, int unused, int one)
        {
            int per = RowsPerChunk(channels), first = chunk * per, end = Math.Min(rows, first + per);
            float* partialGamma = scratch + 2L * chunk * channels, partialBeta = partialGamma + channels;
            new Span<float>(partialGamma, 2 * channels).Clear();
            for (int r = first; r < end; r++)
            {
                float* xr = x + (long)r * channels, dyr = dY + (long)r * channels;
                var vm = new Vector<float>(mean[r]);
                var vs = new Vector<float>(invStd[r]);
                // Pass 1: Σg and Σg·x̂ for the row, and the chunk's dγ, dβ.
                Vector<float> sumG = Vector<float>.Zero, sumGX = Vector<float>.Zero;
                int c = 0;
                for (; c <= channels - Vector<float>.Count; c += Vector<float>.Count)
                {
                    Vector<float> xhat = (Vector.Load(xr + c) - vm) * vs, dy = Vector.Load(dyr + c);
                    Vector<float> g = gamma is null ? dy : dy * Vector.Load(gamma + c);
                    sumG += g;
                    sumGX += g * xhat;
                    (Vector.Load(partialGamma + c) + dy * xhat).Store(partialGamma + c);
                    (Vector.Load(partialBeta + c) + dy).Store(partialBeta + c);
                }
                float sg = Vector.Sum(sumG), sgx = Vector.Sum(sumGX);
                int tail = c;
                for (; c < channels; c++)
                {
                    float xhat = (xr[c] - mean[r]) * invStd[r], dy = dyr[c];
                    float g = gamma is null ? dy : dy * gamma[c];
                    sg += g;
                    sgx += g * xhat;
                    partialGamma[c] += dy * xhat;
                    partialBeta[c] += dy;
                }
                if (dX is null)
                    continue;
                // Pass 2: dx = invStd·(g − Σg/C − x̂·Σg·x̂/C).
                float* dxr = dX + (long)r * channels;
                float meanG = sg / channels, meanGX = sgx / channels;
                var vmg = new Vector<float>(meanG);
                var vmgx = new Vector<float>(meanGX);
                for (c = 0; c < tail; c += Vector<float>.Count)
                {
                    Vector<float> xhat = (Vector.Load(xr + c) - vm) * vs, dy = Vector.Load(dyr + c);
                    Vector<float> g = gamma is null ? dy : dy * Vector.Load(gamma + c);
                    (Vector.Load(dxr + c) + vs * (g - vmg - xhat * vmgx)).Store(dxr + c);
                }
                for (; c < channels; c++)
                {
                    float xhat = (xr[c] - mean[r]) * invStd[r], dy = dyr[c];
                    float g = gamma is null ? dy : dy * gamma[c];
                    dxr[c] += invStd[r] * (g - meanG - xhat * meanGX);
                }
            }
        }
    }
}
