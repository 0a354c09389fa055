namespace NanoNet.Kernels;

/// <summary>
/// A plain, step-by-step LSTM: scalar loops, naive matrix products, <see cref="MathF"/> functions and
/// batch-major arrays, written to be obviously right. Tests compare <see cref="LstmKernels"/> with it.
/// </summary>
/// <remarks>
/// Shape legend as in <see cref="LstmKernels"/>: x (N, T, D), W D×4U, R U×4U, b 4U, gate order i, f, g, o;
/// mask N×T (0 = skipped step, the state is carried); initial state N×U (or zeros); dropout masks N×D (inputs)
/// and N×U (h_{t−1} before the recurrent product), one row per sequence used at every step; going backwards,
/// processing step k reads input step T−1−k and its mask column.
/// </remarks>
public static class LstmReference
{
    /// <summary>The forward pass; returns y ((N, T, U) or (N, U)) and the per-step states for <see cref="Backward"/>.</summary>
    public static (float[] Y, State States) Forward(int n, int t, int d, int u, float[] x, float[] w, float[] r, float[] b,
        bool returnSequences, float[]? mask = null, float[]? h0 = null, float[]? c0 = null, bool goBackwards = false,
        float[]? inputDropout = null, float[]? recurrentDropout = null)
    {
        int g4 = 4 * u;
        var st = new State(n, t, u);
        var y = new float[returnSequences ? n * t * u : n * u];
        for (int s = 0; s < n; s++)
        {
            var h = new float[u];
            var c = new float[u];
            if (h0 is not null) Array.Copy(h0, s * u, h, 0, u);
            if (c0 is not null) Array.Copy(c0, s * u, c, 0, u);
            Array.Copy(h, 0, st.H, st.At(s, 0), u);
            Array.Copy(c, 0, st.C, st.At(s, 0), u);
            for (int step = 0; step < t; step++)
            {
                int read = goBackwards ? t - 1 - step : step;
                bool skip = mask is not null && mask[s * t + read] == 0f;
                var z = new float[g4];
                if (!skip)
                {
                    for (int k = 0; k < g4; k++)
                    {
                        double sum = b[k];
                        for (int i = 0; i < d; i++)
                            sum += x[(s * t + read) * d + i] * Keep(inputDropout, s * d + i) * w[i * g4 + k];
                        for (int j = 0; j < u; j++)
                            sum += h[j] * Keep(recurrentDropout, s * u + j) * r[j * g4 + k];
                        z[k] = (float)sum;
                    }
                    for (int j = 0; j < u; j++)
                    {
                        float gi = Sigmoid(z[j]), gf = Sigmoid(z[u + j]), gg = MathF.Tanh(z[2 * u + j]), go = Sigmoid(z[3 * u + j]);
                        st.Gates[(s * t + step) * g4 + j] = gi;
                        st.Gates[(s * t + step) * g4 + u + j] = gf;
                        st.Gates[(s * t + step) * g4 + 2 * u + j] = gg;
                        st.Gates[(s * t + step) * g4 + 3 * u + j] = go;
                        c[j] = gf * c[j] + gi * gg;
                        h[j] = go * MathF.Tanh(c[j]);
                    }
                }
                Array.Copy(h, 0, st.H, st.At(s, step + 1), u);
                Array.Copy(c, 0, st.C, st.At(s, step + 1), u);
                if (returnSequences)
                    Array.Copy(h, 0, y, (s * t + step) * u, u);
            }
            if (!returnSequences)
                Array.Copy(h, 0, y, s * u, u);
        }
        return (y, st);
    }

    /// <summary>Back-propagation through time; returns dX, dW, dR, db (fresh arrays, not accumulated).</summary>
    public static (float[] DX, float[] DW, float[] DR, float[] DB) Backward(int n, int t, int d, int u, float[] x, float[] w,
        float[] r, State st, float[] dY, bool returnSequences, float[]? mask = null, bool goBackwards = false,
        float[]? inputDropout = null, float[]? recurrentDropout = null)
    {
        int g4 = 4 * u;
        var dX = new float[n * t * d];
        var dW = new float[d * g4];
        var dR = new float[u * g4];
        var dB = new float[g4];
        for (int s = 0; s < n; s++)
        {
            var dh = new float[u];
            var dc = new float[u];
            for (int step = t - 1; step >= 0; step--)
            {
                int read = goBackwards ? t - 1 - step : step;
                for (int j = 0; j < u; j++)
                    dh[j] += returnSequences ? dY[(s * t + step) * u + j] : step == t - 1 ? dY[s * u + j] : 0f;
                if (mask is not null && mask[s * t + read] == 0f)
                    continue; // the state was carried: dh and dc pass through unchanged
                var dz = new float[g4];
                for (int j = 0; j < u; j++)
                {
                    int gate = (s * t + step) * g4;
                    float gi = st.Gates[gate + j], gf = st.Gates[gate + u + j], gg = st.Gates[gate + 2 * u + j], go = st.Gates[gate + 3 * u + j];
                    float cPrev = st.C[st.At(s, step) + j], c = st.C[st.At(s, step + 1) + j];
                    float th = MathF.Tanh(c);
                    float dct = dc[j] + dh[j] * go * (1 - th * th);
                    dz[j] = dct * gg * gi * (1 - gi);
                    dz[u + j] = dct * cPrev * gf * (1 - gf);
                    dz[2 * u + j] = dct * gi * (1 - gg * gg);
                    dz[3 * u + j] = dh[j] * th * go * (1 - go);
                    dc[j] = dct * gf;
                }
                // With dropout masks m_x, m_h (x̃ = x⊙m_x, h̃ = h⊙m_h):
                // dW += x̃_tᵀ·dz, dR += h̃_{t−1}ᵀ·dz, db += dz, dx_t = (dz·Wᵀ)⊙m_x, dh_{t−1} = (dz·Rᵀ)⊙m_h
                for (int k = 0; k < g4; k++)
                {
                    dB[k] += dz[k];
                    for (int i = 0; i < d; i++)
                        dW[i * g4 + k] += x[(s * t + read) * d + i] * Keep(inputDropout, s * d + i) * dz[k];
                    for (int j = 0; j < u; j++)
                        dR[j * g4 + k] += st.H[st.At(s, step) + j] * Keep(recurrentDropout, s * u + j) * dz[k];
                }
                for (int i = 0; i < d; i++)
                {
                    double sum = 0;
                    for (int k = 0; k < g4; k++)
                        sum += dz[k] * w[i * g4 + k];
                    dX[(s * t + read) * d + i] = (float)sum * Keep(inputDropout, s * d + i);
                }
                for (int j = 0; j < u; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < g4; k++)
                        sum += dz[k] * r[j * g4 + k];
                    dh[j] = (float)sum * Keep(recurrentDropout, s * u + j);
                }
            }
        }
        return (dX, dW, dR, dB);
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>A dropout mask's value (1 without a mask).</summary>
    internal static float Keep(float[]? mask, int at) => mask is null ? 1f : mask[at];

    /// <summary>Per-sequence, per-step states of the reference forward pass.</summary>
    public sealed class State(int n, int t, int u)
    {
        /// <summary>Activated gates, (N, T, 4U).</summary>
        public float[] Gates { get; } = new float[n * t * 4 * u];

        /// <summary>Hidden states, (N, T+1, U); slot 0 is the initial state.</summary>
        public float[] H { get; } = new float[n * (t + 1) * u];

        /// <summary>Cell states, (N, T+1, U); slot 0 is the initial state.</summary>
        public float[] C { get; } = new float[n * (t + 1) * u];

        /// <summary>Offset of sequence s, slot k in <see cref="H"/> or <see cref="C"/>.</summary>
        public int At(int s, int k) => (s * (t + 1) + k) * u;
    }
}
