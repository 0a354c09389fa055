namespace NanoNet.Docs.Samples;

/// <summary>Samples of docs/broadcasting.md.</summary>
public static class BroadcastingSamples
{
    /// <summary>Standardises the columns of a batch with a learned scale and shift; returns the two gradients.</summary>
    public static (Tensor Gamma, Tensor Beta) Standardize()
    {
        #region standardize
        Tensor x = Tensor.RandomNormal([64, 8], mean: 3f, std: 2f, seed: 1);   // (N, D)
        Tensor gamma = Tensor.Ones(8).AsParameter("gamma");                      // (D)
        Tensor beta = Tensor.Zeros(8).AsParameter("beta");                       // (D)

        Tensor mean = Ops.Mean(x, axis: 0, keepDims: true);                      // (1, D)
        Tensor variance = Ops.Variance(x, axis: 0, keepDims: true);              // (1, D), population variance
        Tensor normalized = (x - mean) * Ops.Rsqrt(variance + 1e-5f);            // (N, D) with (1, D): stretched over the N rows
        Tensor y = normalized * gamma + beta;                                    // (N, D) with (D): aligned from the right
        Ops.Sum(Ops.Square(y)).Backward();
        // gamma.Grad and beta.Grad are (D): each is dY summed over the N rows its values were stretched on.
        #endregion
        return (gamma.Grad!, beta.Grad!);
    }
}
