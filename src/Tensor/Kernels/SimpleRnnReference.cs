namespace NanoNet.Kernels;

/// <summary>
/// A plain, step-by-step simple RNN: scalar loops, naive matrix products and batch-major arrays, written to be
/// obviously right. Tests compare <see cref="SimpleRnnKernels"/> with it.
/// </summary>
/// <remarks>
/// Shape legend as in <see cref="SimpleRnnKernels"/>: x (N, T, D), W D×U, R U×U, b U; h_t = act(x_t·W + h_{t−1}·R + b);
/// mask N×T (0 = skipped step, the state is carried); initial state N×U (or zeros); dropout masks N×D and N×U;
/// going backwards, processing step k reads input step T−1−k and its mask column.
/// </remarks>
public static class SimpleRnnReference
{
    /// <summary>The forward pass; returns y ((N, T, U) or (N, U)) and the hidden states (N, T+1, U), slot 0 the initial state.</summary>
    public static (float[] Y, float[] H) Forward(int n, int t, int d, int u, ActivationFunction activation, float[] x, float[] w,
        float[] r, float[] b, bool returnSequences, float[]? mask = null, float[]? h0 = null, bool goBackwards = false,
        float[]? inputDropout = null, float[]? recurrentDropout = null)
    {
        var states = new float[n * (t + 1) * u];
        var y = new float[returnSequences ? n * t * u : n * u];
        for (int s = 0; s < n; s++)
        {
            var h = new float[u];
            if (h0 is not null) Array.Copy(h0, s * u, h, 0, u);
            Array.Copy(h, 0, states, s * (t + 1) * u, u);
            for (int step = 0; step < t; step++)
            {
                int read = goBackwards ? t - 1 - step : step;
                if (mask is null || mask[s * t + read] != 0f)
                {
                    var next = new float[u];
                    for (int k = 0; k < u; k++)
                    {
                        double sum = b[k];
                        for (int i = 0; i < d; i++)
                            sum += x[(s * t + read) * d + i] * LstmReference.Keep(inputDropout, s * d + i) * w[i * u + k];
                        for (int j = 0; j < u; j++)
                            sum += h[j] * LstmReference.Keep(recurrentDropout, s * u + j) * r[j * u + k];
                        next[k] = activation switch
                        {
                            ActivationFunction.Tanh => MathF.Tanh((float)sum),
                            ActivationFunction.Relu => MathF.Max((float)sum, 0f),
                            _ => (float)sum,
                        };
                    }
                    h = next;
                }
                Array.Copy(h, 0, states, (s * (t + 1) + step + 1) * u, u);
                if (returnSequences)
                    Array.Copy(h, 0, y, (s * t + step) * u, u);
            }
            if (!returnSequences)
                Array.Copy(h, 0, y, s * u, u);
        }
        return (y, states);
    }

    /// <summary>Back-propagation through time; returns dX, dW, dR, db (fresh arrays, not accumulated).</summary>
    public static (float[] DX, float[] DW, float[] DR, float[] DB) Backward(int n, int t, int d, int u, ActivationFunction activation,
        float[] x, float[] w, float[] r, float[] states, float[] dY, bool returnSequences, float[]? mask = null, bool goBackwards = false,
        float[]? inputDropout = null, float[]? recurrentDropout = null)
    {
        var dX = new float[n * t * d];
        var dW = new float[d * u];
        var dR = new float[u * u];
        var dB = new float[u];
        for (int s = 0; s < n; s++)
        {
            var dh = new float[u];
            for (int step = t - 1; step >= 0; step--)
            {
                int read = goBackwards ? t - 1 - step : step;
                for (int j = 0; j < u; j++)
                    dh[j] += returnSequences ? dY[(s * t + step) * u + j] : step == t - 1 ? dY[s * u + j] : 0f;
                if (mask is not null && mask[s * t + read] == 0f)
                    continue;
                var dz = new float[u];
                for (int k = 0; k < u; k++)
                {
                    float h = states[(s * (t + 1) + step + 1) * u + k];
                    float derivative = activation switch
                    {
                        ActivationFunction.Tanh => 1 - h * h,
                        ActivationFunction.Relu => h > 0 ? 1 : 0,
                        _ => 1,
                    };
                    dz[k] = dh[k] * derivative;
                    dB[k] += dz[k];
                    for (int i = 0; i < d; i++)
                        dW[i * u + k] += x[(s * t + read) * d + i] * LstmReference.Keep(inputDropout, s * d + i) * dz[k];
                    for (int j = 0; j < u; j++)
                        dR[j * u + k] += states[(s * (t + 1) + step) * u + j] * LstmReference.Keep(recurrentDropout, s * u + j) * dz[k];
                }
                for (int i = 0; i < d; i++)
                {
                    double sum = 0;
                    for (int k = 0; k < u; k++)
                        sum += dz[k] * w[i * u + k];
                    dX[(s * t + read) * d + i] = (float)sum * LstmReference.Keep(inputDropout, s * d + i);
                }
                for (int j = 0; j < u; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < u; k++)
                        sum += dz[k] * r[j * u + k];
                    dh[j] = (float)sum * LstmReference.Keep(recurrentDropout, s * u + j);
                }
            }
        }
        return (dX, dW, dR, dB);
    }
}
