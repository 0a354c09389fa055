using NanoNet.Kernels;

namespace NanoNet.Docs.Samples;

/// <summary>Samples of docs/lstm.md.</summary>
public static class LstmSamples
{
    /// <summary>
    /// Runs the op and its backward on a small batch; returns the largest |op − reference| over y and over
    /// dR (the recurrent kernel's gradient, the one that needs back-propagation through time).
    /// </summary>
    public static (float Output, float RecurrentGradient) AgainstReference()
    {
        #region lstm-op
        const int n = 2, t = 5, d = 3, u = 4;                                   // N, T, D, U
        Tensor x = Tensor.RandomNormal([n, t, d], seed: 1);                    // (N, T, D)
        Tensor w = Tensor.RandomNormal([d, 4 * u], std: 0.5f, seed: 2).AsParameter("kernel");            // (D, 4U): i | f | c | o
        Tensor r = Tensor.RandomNormal([u, 4 * u], std: 0.5f, seed: 3).AsParameter("recurrent_kernel");  // (U, 4U)
        Tensor b = Tensor.Zeros(4 * u).AsParameter("bias");                    // (4U)

        Tensor y = Ops.Lstm(x, w, r, b, returnSequences: true);                // (N, T, U): h_t of every step
        Ops.Sum(y).Backward();                                                 // BPTT through all T steps
        // w.Grad (D, 4U), r.Grad (U, 4U), b.Grad (4U); x needs no gradient, so none is computed for it.
        #endregion

        var (yRef, states) = LstmReference.Forward(n, t, d, u, x.ToArray(), w.ToArray(), r.ToArray(), b.ToArray(), returnSequences: true);
        float[] ones = [.. Enumerable.Repeat(1f, n * t * u)];
        var (_, _, dR, _) = LstmReference.Backward(n, t, d, u, x.ToArray(), w.ToArray(), r.ToArray(), states, ones, returnSequences: true);
        float output = 0f, recurrent = 0f;
        for (int i = 0; i < yRef.Length; i++)
            output = MathF.Max(output, MathF.Abs(yRef[i] - y[i]));
        for (int i = 0; i < dR.Length; i++)
            recurrent = MathF.Max(recurrent, MathF.Abs(dR[i] - r.Grad![i]));
        return (output, recurrent);
    }
}
