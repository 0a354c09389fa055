namespace NanoNet.Kernels;

/// <summary>
/// The three products a chunk of backward steps feeds in the GRU and the SimpleRNN (dW and dR side by side on the
/// workers, <see cref="SideBySideWeightGradients"/>, as the LSTM's; the LSTM makes its dX inside the step): over the chunk's rows, while they are
/// still in L2 (see <see cref="RecurrentStepJob.ChunkSteps(int, int, long)"/>),
/// <code>
/// dW += X̃ᵀ · dZ_in        (D×G)
/// dR += H̃_prevᵀ · dZ_rec  (U×G; from the first step whose h_{k−1} counts)
/// dX  = dZ_in · Wᵀ        (the chunk's rows of the time-major dX)
/// </code>
/// </summary>
/// <remarks>
/// Shape legend: N = batch, D = input features, U = units, G = gate columns (3U for the GRU, U for the SimpleRNN);
/// every operand is time-major, so steps [from, to) are rows [from·N, to·N), one GEMM per product. dZ_in and dZ_rec
/// are the same matrix for the SimpleRNN; the GRU's input side (dX̂) and recurrent side (dĤ) differ in the candidate
/// gate's column (dĤ carries its reset gate).
/// </remarks>
internal static class RecurrentChunkProducts
{
    /// <summary>Adds steps [<paramref name="from"/>, <paramref name="to"/>)'s products; an empty output is skipped.</summary>
    /// <param name="n">N, batch rows per step.</param>
    /// <param name="d">D, input features.</param>
    /// <param name="u">U, units.</param>
    /// <param name="g">G, gate columns.</param>
    /// <param name="from">The chunk's first step.</param>
    /// <param name="to">One past the chunk's last step.</param>
    /// <param name="firstStep">0 with an initial state, else 1: h₋₁ = 0 adds nothing to dR.</param>
    /// <param name="input">X̃, T·N×D.</param>
    /// <param name="previous">Block k is h̃_{k−1}, the A operand of step k's recurrent product, T·N×U.</param>
    /// <param name="dzInput">dZ_in, T·N×G.</param>
    /// <param name="dzRecurrent">dZ_rec, T·N×G.</param>
    /// <param name="wT">Wᵀ, G×D (for dX).</param>
    /// <param name="dW">D×G, accumulated, or empty.</param>
    /// <param name="dR">U×G, accumulated, or empty.</param>
    /// <param name="dxTimeMajor">T·N×D, the chunk's rows overwritten, or empty.</param>
    public static void Accumulate(int n, int d, int u, int g, int from, int to, int firstStep, ReadOnlySpan<float> input,
        ReadOnlySpan<float> previous, ReadOnlySpan<float> dzInput, ReadOnlySpan<float> dzRecurrent, ReadOnlySpan<float> wT,
        Span<float> dW, Span<float> dR, Span<float> dxTimeMajor)
    {
        int rows = (to - from) * n;
        ReadOnlySpan<float> dz = dzInput.Slice(from * n * g, rows * g);
        // dW and dR side by side, each worker on its own columns of them: split inside each GEMM, every worker packed
        // all of Aᵀ (the chunk's X̃ or H̃_prev rows) again, and two workers ran each no faster than one (the GRU at 4
        // rows, U = 128). The same bits: each element is the same K-sum, whichever worker computes it.
        int firstH = Math.Max(from, firstStep), rowsH = Math.Max(0, to - firstH) * n;
        SideBySideWeightGradients.Accumulate(dz, rows, g, dW.IsEmpty ? default : input.Slice(from * n * d, rows * d), d,
            rowsH > 0 ? previous.Slice(firstH * n * u, rowsH * u) : default, u, rowsH, dW, dR, default,
            dzRecurrent: dzRecurrent.Slice(from * n * g, rows * g));
        if (!dxTimeMajor.IsEmpty)
            Gemm.Multiply(false, false, rows, d, g, dz, g, wT, d, dxTimeMajor.Slice(from * n * d, rows * d), d);
    }
}
