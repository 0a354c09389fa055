namespace NanoNet.Kernels;

/// <summary>
/// A plain, step-by-step GRU (Keras, <c>reset_after=True</c>): scalar loops, naive matrix products, <see cref="MathF"/>
/// functions and batch-major arrays, written to be obviously right. Tests compare <see cref="GruKernels"/> with it.
/// </summary>
/// <remarks>
/// Shape legend as in <see cref="GruKernels"/>: x (N, T, D), W D×3U, R U×3U, bias 2×3U (input bias, recurrent
/// bias), gate order z, r, h; mask N×T (0 = skipped step, the state is carried); initial state N×U (or zeros);
/// dropout masks N×D and N×U, one row per sequence used at every step; going backwards, processing step k reads
/// input step T−1−k and its mask column.
/// </remarks>
public static class GruReference
{
    /// <summary>The forward pass; returns y ((N, T, U) or (N, U)) and the per-step states for <see cref="Backward"/>.</summary>
    public static (float[] Y, State States) Forward(int n, int t, int d, int u, float[] x, float[] w, float[] r, float[] b,
        bool returnSequences, float[]? mask = null, float[]? h0 = null, bool goBackwards = false,
        float[]? inputDropout = null, float[]? recurrentDropout = null)
    {
        int g3 = 3 * u;
        var st = new State(n, t, u);
        var y = new float[returnSequences ? n * t * u : n * u];
        for (int s = 0; s < n; s++)
        {
            var h = new float[u];
            if (h0 is not null) Array.Copy(h0, s * u, h, 0, u);
            Array.Copy(h, 0, st.H, st.At(s, 0), u);
            for (int step = 0; step < t; step++)
            {
                int read = goBackwards ? t - 1 - step : step;
                if (mask is null || mask[s * t + read] != 0f)
                {
                    var xw = new double[g3];
                    var hr = new double[g3];
                    for (int k = 0; k < g3; k++)
                    {
                        xw[k] = b[k];
                        hr[k] = b[g3 + k];
                        for (int i = 0; i < d; i++)
                            xw[k] += x[(s * t + read) * d + i] * LstmReference.Keep(inputDropout, s * d + i) * w[i * g3 + k];
                        for (int j = 0; j < u; j++)
                            hr[k] += h[j] * LstmReference.Keep(recurrentDropout, s * u + j) * r[j * g3 + k];
                    }
                    var next = new float[u];
                    for (int j = 0; j < u; j++)
                    {
                        float z = Sigmoid((float)(xw[j] + hr[j]));
                        float rg = Sigmoid((float)(xw[u + j] + hr[u + j]));
                        float c = MathF.Tanh((float)xw[2 * u + j] + rg * (float)hr[2 * u + j]);
                        int gate = (s * t + step) * g3;
                        st.Gates[gate + j] = z;
                        st.Gates[gate + u + j] = rg;
                        st.Gates[gate + 2 * u + j] = c;
                        st.Candidate[(s * t + step) * u + j] = (float)hr[2 * u + j];
                        next[j] = z * h[j] + (1 - z) * c;
                    }
                    h = next;
                }
                Array.Copy(h, 0, st.H, st.At(s, step + 1), u);
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
        int g3 = 3 * u;
        var dX = new float[n * t * d];
        var dW = new float[d * g3];
        var dR = new float[u * g3];
        var dB = new float[2 * g3];
        for (int s = 0; s < n; s++)
        {
            var dh = new float[u];
            for (int step = t - 1; step >= 0; step--)
            {
                int read = goBackwards ? t - 1 - step : step;
                for (int j = 0; j < u; j++)
                    dh[j] += returnSequences ? dY[(s * t + step) * u + j] : step == t - 1 ? dY[s * u + j] : 0f;
                if (mask is not null && mask[s * t + read] == 0f)
                    continue; // the state was carried: dh passes through unchanged
                var dxw = new float[g3]; // gradient of x̃·W + b_W
                var dhr = new float[g3]; // gradient of h̃·R + b_R
                var direct = new float[u];
                for (int j = 0; j < u; j++)
                {
                    int gate = (s * t + step) * g3;
                    float z = st.Gates[gate + j], rg = st.Gates[gate + u + j], c = st.Gates[gate + 2 * u + j];
                    float hPrev = st.H[st.At(s, step) + j], candidate = st.Candidate[(s * t + step) * u + j];
                    float dz = dh[j] * (hPrev - c) * z * (1 - z);
                    float dc = dh[j] * (1 - z) * (1 - c * c);
                    float dr = dc * candidate * rg * (1 - rg);
                    dxw[j] = dz; dxw[u + j] = dr; dxw[2 * u + j] = dc;
                    dhr[j] = dz; dhr[u + j] = dr; dhr[2 * u + j] = dc * rg;
                    direct[j] = dh[j] * z;
                }
                for (int k = 0; k < g3; k++)
                {
                    dB[k] += dxw[k];
                    dB[g3 + k] += dhr[k];
                    for (int i = 0; i < d; i++)
                        dW[i * g3 + k] += x[(s * t + read) * d + i] * LstmReference.Keep(inputDropout, s * d + i) * dxw[k];
                    for (int j = 0; j < u; j++)
                        dR[j * g3 + k] += st.H[st.At(s, step) + j] * LstmReference.Keep(recurrentDropout, s * u + j) * dhr[k];
                }
                for (int i = 0; i < d; i++)
                {
                    double sum = 0;
                    for (int k = 0; k < g3; k++)
                        sum += dxw[k] * w[i * g3 + k];
                    dX[(s * t + read) * d + i] = (float)sum * LstmReference.Keep(inputDropout, s * d + i);
                }
                for (int j = 0; j < u; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < g3; k++)
                        sum += dhr[k] * r[j * g3 + k];
                    dh[j] = direct[j] + (float)sum * LstmReference.Keep(recurrentDropout, s * u + j);
                }
            }
        }
        return (dX, dW, dR, dB);
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Per-sequence, per-step states of the reference forward pass.</summary>
    public sealed class State(int n, int t, int u)
    {
        /// <summary>Activated gates z, r, c, (N, T, 3U).</summary>
        public float[] Gates { get; } = new float[n * t * 3 * u];

        /// <summary>The recurrent part of the candidate, h̃_{t−1}·R_h + b_Rh, (N, T, U).</summary>
        public float[] Candidate { get; } = new float[n * t * u];

        /// <summary>Hidden states, (N, T+1, U); slot 0 is the initial state.</summary>
        public float[] H { get; } = new float[n * (t + 1) * u];

        /// <summary>Offset of sequence s, slot k in <see cref="H"/>.</summary>
        public int At(int s, int k) => (s * (t + 1) + k) * u;
    }
}
