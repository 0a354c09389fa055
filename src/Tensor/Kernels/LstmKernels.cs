using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace NanoNet.Kernels;

using static RecurrentCellMath;

/// <summary>
/// The dimensions of one LSTM call and the lengths of the buffers it needs.
/// </summary>
/// <param name="Batch">N, sequences in the batch.</param>
/// <param name="Steps">T, time steps.</param>
/// <param name="Inputs">D, features per step.</param>
/// <param name="Units">U, hidden units.</param>
public readonly record struct LstmShape(int Batch, int Steps, int Inputs, int Units)
{
    /// <summary>
    /// Whether the steps are read last to first (Keras' <c>go_backwards</c>): processing step k reads input step
    /// T−1−k (and its mask), and a returned sequence is in processing order, as Keras returns it.
    /// </summary>
    public bool GoBackwards { get; init; }

    /// <summary>4U: the four gates (i, f, g, o) side by side.</summary>
    public int GateWidth => 4 * Units;

    /// <summary>T·N: rows of the time-major matrices (row t·N + n is step t of sequence n).</summary>
    public int Rows => Steps * Batch;

    /// <summary>Length of the time-major input copy: T·N·D.</summary>
    public int InputLength => Rows * Inputs;

    /// <summary>Length of the gate buffer: T·N·4U.</summary>
    public int GatesLength => Rows * GateWidth;

    /// <summary>Length of one state block (N·U).</summary>
    public int StateLength => Batch * Units;

    /// <summary>Length of the hidden or cell state history: (T+1)·N·U (block 0 is the initial state).</summary>
    public int HistoryLength => (Steps + 1) * Batch * Units;

    /// <summary>Length of the saved tanh(c_t): T·N·U.</summary>
    public int TanhLength => Rows * Units;

    /// <summary>Length of the saved h_{t−1}⊙recurrent-dropout mask: T·N·U with recurrent dropout, else 0.</summary>
    public int DroppedHiddenLength(bool recurrentDropout) => recurrentDropout ? Rows * Units : 0;

    /// <summary>Length of the output: N·T·U with return sequences, else N·U.</summary>
    public int OutputLength(bool returnSequences) => returnSequences ? Rows * Units : Batch * Units;

    /// <summary>
    /// Scratch floats <see cref="LstmKernels.Backward"/> needs: three N·U state buffers, plus N·(U+D) for one step's
    /// dZ_t·[Rᵀ | Wᵀ] when dX is wanted.
    /// </summary>
    public int BackwardScratchLength(bool wantInputGradient) =>
        3 * StateLength + (wantInputGradient ? Batch * (Units + Inputs) : 0);

    internal void Validate()
    {
        if (Batch < 0 || Steps < 1 || Inputs < 1 || Units < 1)
            throw new ArgumentException($"LSTM needs at least one step, one input feature and one unit, got N={Batch}, T={Steps}, D={Inputs}, U={Units}.");
        // Every buffer length is an int product of these: refuse a shape whose largest buffer would not fit, before one wraps.
        long largest = (long)(Steps + 1) * Batch * Math.Max(4 * (long)Units, Math.Max(Inputs, Units));
        if (largest > int.MaxValue)
            throw new ArgumentException($"LSTM with N={Batch}, T={Steps}, D={Inputs}, U={Units} needs buffers of {largest:N0} floats, more than one buffer can hold ({int.MaxValue:N0}): use fewer steps or a smaller batch per call.");
    }
}

/// <summary>
/// What the LSTM forward pass keeps for the backward pass (all time-major, see <see cref="LstmKernels"/>).
/// </summary>
public ref struct LstmBuffers
{
    /// <summary>x copied to time-major order, T·N×D.</summary>
    public Span<float> InputTimeMajor;

    /// <summary>The activated gates i, f, g, o per step, T·N×4U.</summary>
    public Span<float> Gates;

    /// <summary>Hidden states, (T+1)·N×U: block 0 is h₋₁ (the initial state), block t+1 is h_t.</summary>
    public Span<float> Hidden;

    /// <summary>Cell states, (T+1)·N×U: block 0 is c₋₁, block t+1 is c_t.</summary>
    public Span<float> Cell;

    /// <summary>tanh(c_t) per step, T·N×U.</summary>
    public Span<float> TanhCell;

    /// <summary>With recurrent dropout, T·N×U: block t is h_{t−1}⊙(the recurrent mask), the A operand of step t; else empty.</summary>
    public Span<float> DroppedHidden;
}

/// <summary>
/// A whole-sequence LSTM layer (Keras semantics) on spans: forward over all T steps and full
/// back-propagation through time.
/// </summary>
/// <remarks>
/// <para>Shape legend: N = batch, T = time steps, D = input features, U = units, 4U = the gates i, f, g
/// (candidate, Keras' "c"), o in that order. x is (N, T, D) batch-major; the kernel W is D×4U, the
/// recurrent kernel R is U×4U, the bias b is 4U; y is (N, U) (last h) or (N, T, U) with return sequences.
/// Step t: z = x_t·W + h_{t−1}·R + b; i, f, o = σ(z_i, z_f, z_o); g = tanh(z_g);
/// c_t = f⊙c_{t−1} + i⊙g; h_t = o⊙tanh(c_t).</para>
/// <para>How the work is laid out (the way fast CPU implementations do it):
/// <list type="bullet">
/// <item>forward, on AVX-512 with N ≥ 8: the fused step (<see cref="LstmFusedStep"/>), z_t = x_t·W + h_{t−1}·R per
/// register tile with the cell in the tile's epilogue, so z never reaches memory;</item>
/// <item>forward otherwise (the two-pass step): the input projection of ALL steps is one GEMM, (T·N)×D · D×4U; then per step one fused
/// 4-gate GEMM h_{t−1}·R (N×U · U×4U) accumulated into that step's slice of the projection, and one SIMD
/// pass (Vector512 / Vector256 / Vector128, scalar tail) that adds the bias, applies the four non-linearities, and
/// updates c and h;</item>
/// <item>backward: per step the point-wise pass, then one GEMM [dh_{t−1} | dX_t] = dZ_t·[Rᵀ | Wᵀ] (N×4U ·
/// 4U×(U+D), packed once; dX_t added straight into the batch-major dX while it is in cache), or dh_{t−1} = dZ_t·Rᵀ
/// alone when dX is not wanted; the loop runs in chunks of steps (<see cref="RecurrentStepJob.ChunkSteps(int, int, long)"/>), and after
/// each chunk dW += X̃ᵀ·dZ and dR += H_prevᵀ·dZ over the chunk's rows (contiguous in time-major order: one GEMM each)
/// and db += its column sums, while its dZ is still in L2 (side by side on several workers, see
/// <see cref="SideBySideWeightGradients"/>); on several workers, when the steps and the products weigh about the
/// same, each chunk's products run beside the next chunk's steps instead (<see cref="RecurrentBackwardPipeline"/>).</item>
/// <item>the sequences (batch rows) are split into bands once per pass, and each worker runs its band
/// through all T steps (forward) or through a chunk of steps (backward) in one parallel region (see
/// <see cref="RecurrentStepJob"/>), R and Rᵀ packed once per call; the fused step's forward runs chains of rows
/// instead, a run of steps at a time, each worker taking the free chain furthest behind, so that a slower core does
/// fewer steps rather than hold the others up (RecurrentStepJob.ForwardChains.cs).</item>
/// </list></para>
/// <para>Why time-major internally (x is copied to T·N×D once; a returned sequence is copied back): the N rows of one step are then one contiguous N×4U slab, so the per-step GEMM writes a dense
/// block, the point-wise pass streams it, h_{t−1} is a dense N×U operand, and "h_{t−1} for every step"
/// (for dR) is simply blocks 0..T−1 of the hidden history, one matrix aligned row for row with dZ —
/// one GEMM instead of one per sequence. In batch-major order a step's rows would be T·4U floats apart
/// and the shifted H_prev would not be a single strided matrix. The copies are O(N·T·D), small next to
/// the O(N·T·D·4U) GEMMs. The fused forward makes the copy inside the time loop: each worker copies its rows of x_t
/// just before its tiles read them.</para>
/// <para>Masking: an optional N×T mask (batch-major, 1 = real token, 0 = skip) makes a skipped step carry
/// the state unchanged (h_t = h_{t−1}, c_t = c_{t−1}, as Keras does for masked steps); its gates get no
/// gradient and dh, dc pass through it.</para>
/// <para>Dropout (one mask per sequence shared by all its steps, as Keras): the input mask
/// (N×D, 0 or 1/(1 − rate)) scales x as it is copied to time-major, so the saved input is x̃ = x⊙m_x and
/// dX = (dZ·Wᵀ)⊙m_x; the recurrent mask (N×U) scales h_{t−1} before the step's GEMM (z += (h⊙m_h)·R), the
/// scaled h̃ is kept per step for dR = H̃ᵀ·dZ, and dh_{t−1} = (dZ·Rᵀ)⊙m_h.</para>
/// <para>What Keras does (LSTMCell.call): Keras 3 draws one input mask and one recurrent mask per sequence and
/// shares each across the four gates, as here. tf.keras 2.x did the same with <c>dropout</c> alone
/// (implementation 2) but switched a cell with <c>recurrent_dropout</c> > 0 to implementation 1, with <i>four</i>
/// independent input and recurrent masks (one per gate i, f, c, o: x_g = (x⊙m_x,g)·W_g, h̃_g = h_{t−1}⊙m_h,g):
/// the same expected scaling, an untied noise pattern (the fused 4U-wide GEMMs here need one A operand). The cell
/// state c never goes through a mask in either.</para>
/// <para>Going backwards (<see cref="LstmShape.GoBackwards"/>) only changes which input step (and mask
/// column) each processing step reads, and where dX is written.</para>
/// <para>Determinism: the GEMMs are deterministic at any thread count (see <see cref="Gemm"/>), a row's
/// point-wise work does not depend on which band it is in, the chunks depend on the shape and the caches only, and
/// the db sum runs over each chunk's rows in order for every column, so results are bitwise identical at 1 and N threads.</para>
/// </remarks>
public static unsafe class LstmKernels
{
    [ThreadStatic] private static PackedMatrix? t_packedR, t_packedRT, t_packedRWT;
    [ThreadStatic] private static float[]? t_fusedWeights, t_fusedBias, t_stackedRW;
    [ThreadStatic] private static int t_onEmbeddingRuns;

    /// <summary>Diagnostics for tests: how many <see cref="ForwardOnEmbedding"/> calls ran on this thread.</summary>
    internal static int OnEmbeddingRuns => t_onEmbeddingRuns;

    /// <summary>
    /// Runs the LSTM over the whole sequence, filling <paramref name="saved"/> (needed by
    /// <see cref="Backward"/>) and <paramref name="y"/>.
    /// </summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="x">Input, (N, T, D).</param>
    /// <param name="w">Kernel W, D×4U.</param>
    /// <param name="r">Recurrent kernel R, U×4U.</param>
    /// <param name="bias">Bias, 4U.</param>
    /// <param name="mask">Empty, or N×T with 0 where a step is skipped.</param>
    /// <param name="initialHidden">Empty (zero state) or N×U.</param>
    /// <param name="initialCell">Empty (zero state) or N×U.</param>
    /// <param name="y">Output: (N, T, U) with <paramref name="returnSequences"/>, else (N, U) = h_{T−1}.</param>
    /// <param name="returnSequences">Whether every step's h is returned.</param>
    /// <param name="saved">Buffers of the lengths given by <paramref name="s"/>.</param>
    /// <param name="inputDropout">Empty, or N×D: each sequence's input dropout mask (0 or 1/(1 − rate)).</param>
    /// <param name="recurrentDropout">Empty, or N×U: each sequence's recurrent dropout mask (then <see cref="LstmBuffers.DroppedHidden"/> is needed).</param>
    public static void Forward(in LstmShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Span<float> y, bool returnSequences, LstmBuffers saved, ReadOnlySpan<float> inputDropout = default,
        ReadOnlySpan<float> recurrentDropout = default)
    {
        s.Validate();
        int n = s.Batch, t = s.Steps, d = s.Inputs, u = s.Units, g4 = s.GateWidth, block = s.StateLength;
        CheckLengths(s, x.Length, w.Length, r.Length, bias.Length, mask.Length, initialHidden.Length, initialCell.Length);
        CheckDropout(s, inputDropout, recurrentDropout, saved.DroppedHidden.Length);
        if (y.Length != s.OutputLength(returnSequences))
            throw new ArgumentException($"LSTM output needs {s.OutputLength(returnSequences)} floats, got {y.Length}.");
        if (n == 0)
            return;
        ForwardCore(s, x, w, r, bias, mask, initialHidden, initialCell, y, returnSequences, saved, inputDropout, recurrentDropout,
            default, default, default);
    }

    /// <summary>
    /// Floats of <see cref="ForwardOnEmbedding"/>'s projection workspace for <paramref name="distinct"/> ids: one
    /// projected row per id, in the fused step's panel order (<see cref="LstmFusedStep.Project"/>), or 4U floats on
    /// the two-pass step.
    /// </summary>
    public static long ProjectedLength(in LstmShape s, int distinct) => LstmFusedStep.Applies(s.Batch)
        ? (long)distinct * LstmFusedStep.Panels(s.Units) * LstmFusedStep.Width
        : (long)distinct * s.GateWidth;

    /// <summary>
    /// <see cref="Forward"/> for an input that is an embedding lookup (x[n, t] = the embedding row of the id at
    /// (n, t)), given the batch's distinct rows instead of x: each distinct row is projected once (x·W) and every
    /// step starts from its rows' projections (the same bits as <see cref="Forward"/> on the gathered x on the fused
    /// step; the projection is that chain's value after its x part). Fills <paramref name="saved"/> for
    /// <see cref="BackwardOnEmbedding"/> (its <see cref="LstmBuffers.InputTimeMajor"/> is not used). No initial state
    /// and no dropout: those take <see cref="Forward"/>.
    /// </summary>
    /// <param name="s">The dimensions (D = the embedding width).</param>
    /// <param name="rows">The batch's K distinct embedding rows, K×D.</param>
    /// <param name="slots">N×T (batch-major): for position (n, t), the row of <paramref name="rows"/> its id has.</param>
    /// <param name="projected">Workspace of <see cref="ProjectedLength"/> floats.</param>
    /// <param name="w">Kernel W, D×4U.</param>
    /// <param name="r">Recurrent kernel R, U×4U.</param>
    /// <param name="bias">Bias, 4U.</param>
    /// <param name="mask">Empty, or N×T with 0 where a step is skipped.</param>
    /// <param name="y">Output: (N, T, U) with <paramref name="returnSequences"/>, else (N, U) = h_{T−1}.</param>
    /// <param name="returnSequences">Whether every step's h is returned.</param>
    /// <param name="saved">Gates, Hidden, Cell and TanhCell of the lengths given by <paramref name="s"/>.</param>
    public static void ForwardOnEmbedding(in LstmShape s, ReadOnlySpan<float> rows, ReadOnlySpan<int> slots, Span<float> projected,
        ReadOnlySpan<float> w, ReadOnlySpan<float> r, ReadOnlySpan<float> bias, ReadOnlySpan<float> mask,
        Span<float> y, bool returnSequences, LstmBuffers saved)
    {
        s.Validate();
        int d = s.Inputs, g4 = s.GateWidth;
        int distinct = CheckEmbeddedInput(s, rows, slots);
        if (w.Length != d * g4 || r.Length != s.Units * g4 || bias.Length != g4 || (mask.Length != 0 && mask.Length != s.Rows))
            throw new ArgumentException($"LSTM spans do not match N={s.Batch}, T={s.Steps}, D={d}, U={s.Units}.");
        if (y.Length != s.OutputLength(returnSequences) || projected.Length < ProjectedLength(s, distinct))
            throw new ArgumentException($"LSTM on embedded ids: the output needs {s.OutputLength(returnSequences)} floats (got {y.Length}), " +
                $"the projection {ProjectedLength(s, distinct)} (got {projected.Length}).");
        if (s.Batch == 0)
            return;
        t_onEmbeddingRuns++;
        ForwardCore(s, default, w, r, bias, mask, default, default, y, returnSequences, saved, default, default, rows, slots, projected);
    }

    /// <summary>Checks the distinct rows and slots of an embedded input; returns K.</summary>
    private static int CheckEmbeddedInput(in LstmShape s, ReadOnlySpan<float> rows, ReadOnlySpan<int> slots)
    {
        if (rows.Length % s.Inputs != 0 || slots.Length != s.Rows)
            throw new ArgumentException($"LSTM on embedded ids: the distinct rows need a multiple of D = {s.Inputs} floats (got {rows.Length}) " +
                $"and the slots N·T = {s.Rows} entries (got {slots.Length}).");
        int distinct = rows.Length / s.Inputs;
        foreach (int slot in slots)
            if ((uint)slot >= (uint)distinct)
                throw new ArgumentOutOfRangeException(nameof(slots), slot, $"A slot is outside the {distinct} distinct rows.");
        return distinct;
    }

    private static void ForwardCore(in LstmShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Span<float> y, bool returnSequences, LstmBuffers saved, ReadOnlySpan<float> inputDropout, ReadOnlySpan<float> recurrentDropout,
        ReadOnlySpan<float> rows, ReadOnlySpan<int> slots, Span<float> projected)
    {
        int n = s.Batch, t = s.Steps, d = s.Inputs, u = s.Units, g4 = s.GateWidth, block = s.StateLength;
        bool onEmbedding = !slots.IsEmpty;
        int distinct = onEmbedding ? rows.Length / d : 0;

        // The fused step (AVX-512, N ≥ 8) computes x_t·W per band and step inside its tiles, and each worker copies its
        // rows of x_t to the time-major X̃ (kept for dW) right before its tiles read them; the two-pass step reads the
        // input projection of every step, done here at once after one serial copy: Z = X̃·W, (T·N)×4U.
        bool fused = LstmFusedStep.Applies(n);
        if (!fused && !onEmbedding)
        {
            RecurrentLayout.ToTimeMajor(x, saved.InputTimeMajor, n, t, d, s.GoBackwards, inputDropout);
            Gemm.Multiply(false, false, s.Rows, g4, d, saved.InputTimeMajor, d, w, g4, saved.Gates, g4);
        }

        Span<float> h0 = saved.Hidden[..block], c0 = saved.Cell[..block];
        bool initialState = !initialHidden.IsEmpty;
        if (initialState)
        {
            initialHidden.CopyTo(h0);
            initialCell.CopyTo(c0);
        }
        else
        {
            h0.Clear();
            c0.Clear();
        }

        // The B operand of every step: R packed once for all T steps, or (fused) W and R packed side by side in panels.
        PackedMatrix? packedR = null;
        (int Weights, int Bias) fusedStart = default; // where the packed panels and bias start (on cache lines)
        if (fused)
            fusedStart = LstmFusedStep.Pack(w, r, bias, d, u, ref t_fusedWeights, ref t_fusedBias, panelsLater: onEmbedding);
        else
            packedR = t_packedR = PackedMatrix.Pack(false, u, g4, r, g4, t_packedR);
        fixed (float* pw = w, pr = r, gates = saved.Gates, hidden = saved.Hidden, cell = saved.Cell, tanhCell = saved.TanhCell, pb = bias, pm = mask,
               dropped = saved.DroppedHidden, pmh = recurrentDropout, input = saved.InputTimeMajor, px = x, pmx = inputDropout,
               fusedWeightsArray = fused ? t_fusedWeights : null, fusedBiasArray = fused ? t_fusedBias : null,
               pRows = rows, pProjected = projected)
        fixed (int* pSlots = slots)
        {
            float* fusedWeights = fused ? fusedWeightsArray + fusedStart.Weights : null;
            float* fusedBias = fused ? fusedBiasArray + fusedStart.Bias : null;
            // On embedded ids: x·W once per distinct row, in the fused step's panels or as plain 4U rows (two-pass).
            if (onEmbedding && fused)
                LstmProjection.Run(fusedWeights, d, u, pRows, null, distinct, pProjected, pw, pr); // packs the panels first
            else if (onEmbedding)
                Gemm.Multiply(false, false, distinct, g4, d, rows, d, w, g4, projected[..(distinct * g4)], g4);
            StepJob job = StepJob.Rent(s, packedR, backward: false);
            job.Projected = onEmbedding ? pProjected : null;
            job.Slots = onEmbedding ? pSlots : null;
            job.Gates = gates; job.Hidden = hidden; job.Cell = cell; job.TanhCell = tanhCell; job.Bias = pb; job.Mask = pm;
            job.DroppedHidden = dropped; job.RecurrentDropout = pmh;
            job.InitialState = initialState;
            job.Input = input; job.FusedWeights = fusedWeights; job.FusedBias = fusedBias;
            if (fused)
            {
                job.BatchMajorInput = px;
                job.InputDropout = pmx;
            }
            job.RunForward();
        }

        if (returnSequences)
            RecurrentLayout.FromTimeMajor(saved.Hidden[block..], y, n, t, u, accumulate: false);
        else
            saved.Hidden.Slice(t * block, block).CopyTo(y);
    }

    /// <summary>
    /// Back-propagation through time: accumulates dW, dR, dBias and dX (each skipped when its span is
    /// empty) from dY, using what <see cref="Forward"/> saved. No gradient flows into an initial state.
    /// </summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="returnSequences">As in the forward call; fixes the shape of dY.</param>
    /// <param name="w">Kernel W, D×4U.</param>
    /// <param name="r">Recurrent kernel R, U×4U.</param>
    /// <param name="mask">As in the forward call.</param>
    /// <param name="hasInitialState">Whether the forward call started from a given state (then h₋₁ contributes to dR).</param>
    /// <param name="saved">What the forward call saved (the gate buffer is read, and changed only when it is <paramref name="dGates"/>).</param>
    /// <param name="dY">Gradient of the output, same shape as y.</param>
    /// <param name="dGates">Workspace T·N×4U: receives dZ, the gradient of the pre-activation gates. It may be the
    /// saved gate buffer itself when the forward's buffers are not needed again (each step reads its row of gates,
    /// then writes its dZ over it): a separate buffer costs the memory a fresh line's first write reads
    /// (<see cref="Ops.Lstm"/> does this in a backward pass that does not retain the graph).</param>
    /// <param name="scratch">Workspace of <see cref="LstmShape.BackwardScratchLength"/> floats.</param>
    /// <param name="dX">(N, T, D) accumulated, or empty.</param>
    /// <param name="dW">D×4U accumulated, or empty.</param>
    /// <param name="dR">U×4U accumulated, or empty.</param>
    /// <param name="dBias">4U accumulated, or empty.</param>
    /// <param name="inputDropout">As in the forward call.</param>
    /// <param name="recurrentDropout">As in the forward call.</param>
    /// <param name="dFinalHidden">Empty, or N×U: the gradient of the final hidden state h_{T−1} returned as a state
    /// output (Keras' <c>return_state</c>); it seeds the dh arriving at the last step.</param>
    /// <param name="dFinalCell">Empty, or N×U: the gradient of the final cell state c_{T−1}; it seeds dc.</param>
    /// <param name="dInitialHidden">Empty, or N×U accumulated: the gradient of the initial hidden state h₋₁ (Keras'
    /// <c>initial_state</c>); needs <paramref name="hasInitialState"/>.</param>
    /// <param name="dInitialCell">Empty, or N×U accumulated: the gradient of the initial cell state c₋₁.</param>
    /// <param name="overwriteInput">dX holds nothing yet (a new gradient with any contents): each dX_t is stored
    /// instead of added (every element of dX is one step's product, so none is left unwritten), sparing the clear of
    /// dX and a read of it.</param>
    public static void Backward(in LstmShape s, bool returnSequences, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> mask, bool hasInitialState, LstmBuffers saved, ReadOnlySpan<float> dY, Span<float> dGates,
        Span<float> scratch, Span<float> dX, Span<float> dW, Span<float> dR, Span<float> dBias,
        ReadOnlySpan<float> inputDropout = default, ReadOnlySpan<float> recurrentDropout = default,
        ReadOnlySpan<float> dFinalHidden = default, ReadOnlySpan<float> dFinalCell = default,
        Span<float> dInitialHidden = default, Span<float> dInitialCell = default, bool overwriteInput = false)
    {
        s.Validate();
        if (dY.Length != s.OutputLength(returnSequences) || dGates.Length < s.GatesLength || scratch.Length < s.BackwardScratchLength(!dX.IsEmpty))
            throw new ArgumentException("LSTM backward: a buffer has the wrong length.");
        CheckDropout(s, inputDropout, recurrentDropout, saved.DroppedHidden.Length);
        RecurrentLayout.CheckStateGradients(s.StateLength, hasInitialState, dFinalHidden, dFinalCell, dInitialHidden, dInitialCell, "LSTM");
        if (s.Batch == 0)
            return;
        // db += Σ rows of dZ, dW += Xᵀ·dZ and dR += H_prevᵀ·dZ (H̃_prev with recurrent dropout; h₋₁ = 0 contributes
        // nothing unless an initial state was given), chunk by chunk as the steps produce dZ.
        var weights = new ChunkGradients
        {
            Input = saved.InputTimeMajor, Previous = recurrentDropout.IsEmpty ? saved.Hidden : saved.DroppedHidden,
            FirstStep = hasInitialState ? 0 : 1, DW = dW, DR = dR, DBias = dBias,
        };
        BackwardThroughTime(s, returnSequences, w, r, mask, saved, dY, dGates, scratch, dX, inputDropout, recurrentDropout,
            dFinalHidden, dFinalCell, dInitialHidden, dInitialCell, weights, overwriteInput);
    }

    /// <summary>Ints of <see cref="BackwardOnEmbedding"/>'s group scratch for <paramref name="distinct"/> rows: each
    /// time-major row's group (T·N), each group's row count (K), and whether each group has a row summed yet (K).</summary>
    public static int GroupScratchLength(in LstmShape s, int distinct) => s.Rows + 2 * distinct;

    /// <summary>
    /// <see cref="Backward"/> after <see cref="ForwardOnEmbedding"/>: the gradient of each distinct embedding row
    /// instead of dX. An id's row meets W at every position of that id, so dZ is first summed per distinct row
    /// (S, K×4U, <see cref="GroupedRowSums"/>), then dRows = S·Wᵀ and dW += Eᵀ·S are products over K rows instead of
    /// T·N, and the steps' GEMM is dh_{t−1} = dZ_t·Rᵀ alone (no dX_t). dR and db as in <see cref="Backward"/>.
    /// </summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="returnSequences">As in the forward call.</param>
    /// <param name="w">Kernel W, D×4U.</param>
    /// <param name="r">Recurrent kernel R, U×4U.</param>
    /// <param name="mask">As in the forward call (a skipped step's dZ is zero and is not summed).</param>
    /// <param name="saved">What the forward call saved.</param>
    /// <param name="dY">Gradient of the output, same shape as y.</param>
    /// <param name="dGates">Workspace T·N×4U: receives dZ (it may be the saved gate buffer, as in <see cref="Backward"/>).</param>
    /// <param name="scratch">Workspace of <see cref="LstmShape.BackwardScratchLength"/>(false) floats.</param>
    /// <param name="rows">The K distinct embedding rows the forward call read, K×D.</param>
    /// <param name="slots">As in the forward call.</param>
    /// <param name="rowSums">Workspace K×4U: receives S.</param>
    /// <param name="groupScratch">Workspace of <see cref="GroupScratchLength"/> ints.</param>
    /// <param name="dRows">K×D, overwritten with each distinct row's gradient, or empty.</param>
    /// <param name="dW">D×4U accumulated, or empty.</param>
    /// <param name="dR">U×4U accumulated, or empty.</param>
    /// <param name="dBias">4U accumulated, or empty.</param>
    public static void BackwardOnEmbedding(in LstmShape s, bool returnSequences, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> mask, LstmBuffers saved, ReadOnlySpan<float> dY, Span<float> dGates, Span<float> scratch,
        ReadOnlySpan<float> rows, ReadOnlySpan<int> slots, Span<float> rowSums, Span<int> groupScratch,
        Span<float> dRows, Span<float> dW, Span<float> dR, Span<float> dBias)
    {
        s.Validate();
        int n = s.Batch, t = s.Steps, d = s.Inputs, g4 = s.GateWidth;
        int distinct = CheckEmbeddedInput(s, rows, slots);
        if (dY.Length != s.OutputLength(returnSequences) || dGates.Length < s.GatesLength || scratch.Length < s.BackwardScratchLength(false)
            || rowSums.Length < (long)distinct * g4 || groupScratch.Length < GroupScratchLength(s, distinct)
            || (!dRows.IsEmpty && dRows.Length != distinct * d) || (mask.Length != 0 && mask.Length != s.Rows))
            throw new ArgumentException("LSTM backward on embedded ids: a buffer has the wrong length.");
        if (n == 0)
            return;
        // Chunk by chunk as the steps produce dZ: dR += H_prevᵀ·dZ and db (no initial state: h₋₁ = 0 adds nothing), and
        // S, dZ summed per distinct row (each time-major row's group: the distinct row of its position, or −1 for a
        // skipped step, whose dZ is zero). dW and the rows' gradients meet S after the loop. S is not cleared first:
        // each id's first row is stored and the ids no row reached are zeroed with the last chunk
        // (GroupedRowSums.SumOntoTouched: the same bits, without a pass over S's K×4U floats).
        var weights = new ChunkGradients { Previous = saved.Hidden, FirstStep = 1, DR = dR, DBias = dBias };
        if (!dRows.IsEmpty || !dW.IsEmpty)
        {
            Span<int> groupOfRow = groupScratch[..s.Rows];
            for (int step = 0; step < t; step++)
            {
                int inputStep = RecurrentLayout.InputStep(step, t, s.GoBackwards);
                for (int row = 0; row < n; row++)
                {
                    int position = row * t + inputStep;
                    groupOfRow[step * n + row] = !mask.IsEmpty && mask[position] == 0f ? -1 : slots[position];
                }
            }
            weights.GroupOfRow = groupOfRow;
            weights.Groups = distinct;
            weights.RowSums = rowSums[..(distinct * g4)];
            weights.RowsInGroup = groupScratch.Slice(s.Rows, distinct);
            weights.Touched = groupScratch.Slice(s.Rows + distinct, distinct);
            weights.Touched.Clear();
        }
        fixed (float* pRows = rows, pSums = rowSums, pw = w, pdw = dW, pdRows = dRows)
        {
            // dW and the rows' gradients meet S once the last chunk is summed: in a pipelined pass its two workers share
            // their pieces as soon as each is free (the step worker first: it summed the last chunk).
            RowProductsJob? rowProducts = null;
            if (distinct > 0 && (!dW.IsEmpty || !dRows.IsEmpty))
            {
                rowProducts = t_rowProducts ??= new RowProductsJob();
                rowProducts.Rows = pRows;
                rowProducts.Sums = pSums;
                rowProducts.W = pw;
                rowProducts.DW = dW.IsEmpty ? null : pdw;
                rowProducts.DRows = dRows.IsEmpty ? null : pdRows;
                rowProducts.Reset();
                (rowProducts.Distinct, rowProducts.D, rowProducts.G) = (distinct, d, g4);
            }
            bool done = BackwardThroughTime(s, returnSequences, w, r, mask, saved, dY, dGates, scratch, default, default, default,
                default, default, default, default, weights, overwriteInput: false, rowProducts);
            if (!done && rowProducts != null)
            {
                if (!dW.IsEmpty) // dW += Eᵀ·S over the K distinct rows (K×D, K×4U)
                    Gemm.Multiply(true, false, d, g4, distinct, rows, d, rowSums, g4, dW, g4, accumulate: true);
                if (!dRows.IsEmpty) // each distinct row's gradient: S·Wᵀ (K×4U · 4U×D)
                    Gemm.Multiply(false, true, distinct, d, g4, rowSums, g4, w, g4, dRows, d);
            }
            if (rowProducts != null)
                rowProducts.Rows = rowProducts.Sums = rowProducts.W = rowProducts.DW = rowProducts.DRows = null;
        }
    }

    [ThreadStatic] private static RowProductsJob? t_rowProducts;

    /// <summary>
    /// On embedded ids, after the steps: dW += Eᵀ·S (D×4U) and the distinct rows' gradients S·Wᵀ (K×D), cut into pieces
    /// the workers take in turn as they come free (dW's two column halves first, then bands of the rows' gradients), each
    /// piece a product on its worker alone; every output element is one K-sum whichever piece holds it, so the bits do not
    /// depend on who took what.
    /// </summary>
    private sealed class RowProductsJob : ParallelJob
    {
        /// <summary>E (K×D), S (K×4U), W (D×4U); dW (D×4U, accumulated) and dRows (K×D, overwritten), null when not wanted.</summary>
        public float* Rows, Sums, W, DW, DRows;
        public int Distinct, D, G;
        private int _next;

        /// <summary>Bands of the rows' gradients: enough that the worker that comes free first has work left to share.</summary>
        private const int RowBands = 6;

        /// <summary>Makes every piece available again (before the region).</summary>
        public void Reset() => _next = 0;

        public override void RunWorker(int worker, int workerCount)
        {
            int k = Distinct, d = D, g4 = G, halves = DW == null ? 0 : 2, bands = DRows == null ? 0 : RowBands;
            int half = (g4 / 2 + 31) / 32 * 32; // whole 32-float panels of dW's columns
            int band = ((k + bands - 1) / Math.Max(1, bands) + 7) / 8 * 8;
            for (int piece = Interlocked.Increment(ref _next) - 1; piece < halves + bands; piece = Interlocked.Increment(ref _next) - 1)
            {
                if (piece < halves) // dW[:, columns] += Eᵀ·S[:, columns]
                {
                    int first = piece * half, columns = Math.Min(g4, first + half) - first;
                    if (columns > 0)
                        Gemm.Multiply(true, false, d, columns, k, new ReadOnlySpan<float>(Rows, k * d), d,
                            new ReadOnlySpan<float>(Sums + first, (k - 1) * g4 + columns), g4,
                            new Span<float>(DW + first, (d - 1) * g4 + columns), g4, accumulate: true);
                }
                else // rows [first, end) of the rows' gradients: S[rows]·Wᵀ
                {
                    int first = (piece - halves) * band, end = Math.Min(k, first + band);
                    if (first < end)
                        Gemm.Multiply(false, true, end - first, d, g4, new ReadOnlySpan<float>(Sums + (long)first * g4, (end - first) * g4), g4,
                            new ReadOnlySpan<float>(W, d * g4), g4, new Span<float>(DRows + (long)first * d, (end - first) * d), d);
                }
            }
        }
    }

    /// <summary>
    /// The steps of back-propagation through time, last to first, in chunks: dZ of every step into <paramref name="dGates"/>,
    /// dX when wanted, and the initial states' gradients; after each chunk, what <paramref name="weights"/> asks of its rows.
    /// In a pipelined pass (<see cref="RecurrentBackwardPipeline"/>) <paramref name="afterTheSteps"/> runs on its two
    /// workers once every chunk's per-id sums are in; returns whether it ran (else the caller runs it).
    /// </summary>
    private static bool BackwardThroughTime(in LstmShape s, bool returnSequences, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> mask, LstmBuffers saved, ReadOnlySpan<float> dY, Span<float> dGates,
        Span<float> scratch, Span<float> dX, ReadOnlySpan<float> inputDropout, ReadOnlySpan<float> recurrentDropout,
        ReadOnlySpan<float> dFinalHidden, ReadOnlySpan<float> dFinalCell, Span<float> dInitialHidden, Span<float> dInitialCell,
        scoped in ChunkGradients weights, bool overwriteInput, ParallelJob? afterTheSteps = null)
    {
        int d = s.Inputs, u = s.Units, g4 = s.GateWidth, block = s.StateLength;
        bool ranAfterTheSteps = false;

        // dh and dc arriving from "step T": zero, or the gradients of the final states when they are outputs too.
        RecurrentLayout.CopyOrClear(dFinalHidden, scratch[..block]);
        RecurrentLayout.CopyOrClear(dFinalCell, scratch.Slice(2 * block, block));
        bool wantInitial = !dInitialHidden.IsEmpty || !dInitialCell.IsEmpty;
        // The B operand of every step, packed once for all T steps: [Rᵀ | Wᵀ] (4U×(U+D)) for [dh_{t−1} | dX_t] = dZ_t·[Rᵀ | Wᵀ]
        // (packed from R stacked on W, (U+D)×4U), or Rᵀ (4U×U) alone, packed straight from R, when dX is not wanted.
        PackedMatrix packedB = dX.IsEmpty ? t_packedRT = PackedMatrix.Pack(true, g4, u, r, g4, t_packedRT)
            : t_packedRWT = PackedMatrix.Pack(true, g4, u + d, StackRows(r, w, ref t_stackedRW), g4, t_packedRWT);
        fixed (float* gates = saved.Gates, cell = saved.Cell, tanhCell = saved.TanhCell, pdy = dY, pdz = dGates,
               pm = mask, pScratch = scratch, pmh = recurrentDropout, pdx = dX, pmx = inputDropout)
        {
            StepJob job = StepJob.Rent(s, packedB, backward: true);
            job.Gates = gates; job.Cell = cell; job.TanhCell = tanhCell; job.Mask = pm; job.DY = pdy; job.DZ = pdz;
            job.RecurrentDropout = pmh;
            job.ReturnSequences = returnSequences;
            job.WantInitialGradient = wantInitial;
            job.DC = pScratch + 2 * block;
            job.DX = pdx; job.DXStep = pScratch + 3 * block; job.InputDropout = pmx;
            job.OverwriteInput = overwriteInput;
            job.PackTileSplit(dX.IsEmpty ? r : t_stackedRW, wantInput: !dX.IsEmpty);
            // The steps in chunks, last to first (the chunk's dZ, rows×4U, about the size of L2); after each chunk its
            // weight gradients, while its dZ is still in cache. One product over all T·N rows after the loop read 13 MB
            // of dZ back from memory at N = 32, T = 200: the IMDB seed model's dR ran at about 60% of the FMA peak that
            // way, 75% chunked (benchmarks/README.md, "Ninth sitting").
            // On several workers, when the steps and the products weigh about the same, the products of each chunk run
            // beside the steps of the next (RecurrentBackwardPipeline); else each chunk's steps, then its products.
            float* dhInitial = null;
            int chunk = RecurrentStepJob.ChunkSteps(s.Batch, s.Steps, (long)g4 * sizeof(float));
            int chunks = (s.Steps + chunk - 1) / chunk;
            // (The pipeline's step role also sums each chunk's dZ per id, while its rows are in that core's L2.)
            double stepCost = (double)g4 * (u + (dX.IsEmpty ? 0 : d) + RecurrentBackwardPipeline.BackwardCellCost
                + (weights.RowSums.IsEmpty ? 0 : SideBySideWeightGradients.GroupedFloatCost));
            // (A batch of one band whose steps split by units runs its chunks that way instead: RecurrentStepJob.UnitSplit.cs.)
            if (!job.BackwardSplitsUnits && RecurrentBackwardPipeline.Plan(Parallelism.WorkersFor(Parallelism.CurrentMaxThreads), s.Batch, chunks,
                    stepCost, weights.ProductCostPerRow(s), (long)g4 * (u + (dX.IsEmpty ? 0 : d)) * sizeof(float),
                    out int stepRoles, out int productRoles, out int sharedRows))
            {
                job.SetBackwardBuffers(pScratch, pScratch + block);
                weights.RunPipelined(s, job, dGates, chunk, stepRoles, productRoles, sharedRows, afterTheSteps);
                ranAfterTheSteps = afterTheSteps != null;
                dhInitial = job.DhAfter(0);
            }
            else
                for (int to = s.Steps; to > 0; to -= chunk)
                {
                    int from = Math.Max(0, to - chunk);
                    dhInitial = job.RunBackward(pScratch, pScratch + block, from, to);
                    weights.Accumulate(s, from, to, dGates);
                }
            // Step 0 left dh₋₁ in dhInitial and dc₋₁ in DC: the initial states' gradients.
            if (!dInitialHidden.IsEmpty)
                TensorPrimitives.Add(dInitialHidden, new ReadOnlySpan<float>(dhInitial, block), dInitialHidden);
            if (!dInitialCell.IsEmpty)
                TensorPrimitives.Add(dInitialCell, new ReadOnlySpan<float>(job.DC, block), dInitialCell);
        }
        return ranAfterTheSteps;
    }

    /// <summary>
    /// The weight gradients one chunk of steps feeds: dW += X̃ᵀ·dZ, dR += H_prevᵀ·dZ and db += Σ rows of dZ over the
    /// chunk's rows (each skipped when its span is empty), side by side on several workers
    /// (<see cref="SideBySideWeightGradients"/>).
    /// </summary>
    private ref struct ChunkGradients
    {
        /// <summary>The time-major input X̃ (T·N×D) dW meets, or empty.</summary>
        public ReadOnlySpan<float> Input;
        /// <summary>Per step k, block k is the A operand of its recurrent product (h_{k−1}, or h̃_{k−1} with recurrent dropout).</summary>
        public ReadOnlySpan<float> Previous;
        /// <summary>The first step whose h_{k−1} adds to dR: 0 with an initial state, else 1 (h₋₁ = 0).</summary>
        public int FirstStep;
        public Span<float> DW, DR, DBias;
        /// <summary>On embedded ids: each time-major row's group (its distinct row, or −1), and S (Groups×4U) that
        /// gathers the rows' dZ per group (<see cref="GroupedRowSums"/>, with its scratch); else empty.</summary>
        public ReadOnlySpan<int> GroupOfRow;
        public int Groups;
        public Span<float> RowSums;
        public Span<int> RowsInGroup;
        /// <summary>With <see cref="RowSums"/>: which groups have a row summed so far (<see cref="GroupedRowSums.SumOntoTouched"/>; zero at the start).</summary>
        public Span<int> Touched;

        /// <summary>FMAs per row of dW's and dR's products, with db weighed as one per float; 0 when neither is wanted.</summary>
        public readonly double ProductCostPerRow(in LstmShape s)
        {
            double columns = (Input.IsEmpty || DW.IsEmpty ? 0 : s.Inputs) + (DR.IsEmpty ? 0 : s.Units);
            return columns == 0 ? 0 : (columns + (DBias.IsEmpty ? 0 : 1)) * s.GateWidth;
        }

        /// <summary>The whole backward pass, each chunk's products beside the next chunk's steps (<see cref="RecurrentBackwardPipeline"/>);
        /// <paramref name="job"/> is prepared and holds dh's buffers.</summary>
        public readonly void RunPipelined(in LstmShape s, RecurrentStepJob job, Span<float> dGates, int chunk, int stepRoles, int productRoles,
            int sharedRows, ParallelJob? afterTheSteps)
        {
            int g4 = s.GateWidth;
            bool hasW = !Input.IsEmpty && !DW.IsEmpty;
            fixed (float* pdz = dGates, px = Input, ph = Previous, pdw = DW, pdr = DR, pdb = DBias, pSums = RowSums)
            fixed (int* pGroups = GroupOfRow, pScratch = RowsInGroup, pTouched = Touched)
            {
                var whole = new SideBySideWeightGradients.Work
                {
                    DZ = pdz, X = hasW ? px : null, H = ph, DW = hasW ? pdw : null, DR = DR.IsEmpty ? null : pdr,
                    DBias = DBias.IsEmpty ? null : pdb, G = g4, D = hasW ? s.Inputs : 0, U = DR.IsEmpty ? 0 : s.Units,
                    Nr = GemmMicroKernels.TileSize(Gemm.BestKernel).Nr,
                    GroupOf = RowSums.IsEmpty ? null : pGroups, GroupSums = pSums, GroupScratch = pScratch, Groups = Groups,
                    GroupTouched = pTouched,
                };
                RecurrentBackwardPipeline.Run(job, whole, chunk, FirstStep, stepRoles, productRoles, sharedRows, afterTheSteps);
            }
        }

        /// <summary>Adds the gradients of steps [<paramref name="from"/>, <paramref name="to"/>): their rows are
        /// contiguous in the time-major dZ, X̃ and H_prev, so each product is one GEMM over (to − from)·N rows.</summary>
        public readonly void Accumulate(in LstmShape s, int from, int to, ReadOnlySpan<float> dGates)
        {
            int n = s.Batch, d = s.Inputs, u = s.Units, g4 = s.GateWidth, rows = (to - from) * n;
            int firstH = Math.Max(from, FirstStep), rowsH = Math.Max(0, to - firstH) * n;
            // On embedded ids the chunk's dZ is also summed per id, on one worker while the others start the products.
            SideBySideWeightGradients.Accumulate(dGates.Slice(from * n * g4, rows * g4), rows, g4,
                Input.IsEmpty ? default : Input.Slice(from * n * d, rows * d), d,
                rowsH == 0 ? default : Previous.Slice(firstH * n * u, rowsH * u), u, rowsH,
                Input.IsEmpty ? default : DW, rowsH == 0 ? default : DR, DBias,
                RowSums.IsEmpty ? default : GroupOfRow.Slice(from * n, rows), Groups, RowSums, RowsInGroup, Touched,
                lastGroupSums: from == 0); // the chunks run last to first: the one from step 0 is the pass's last
        }
    }

    /// <summary>R (U×4U) and W (D×4U) stacked into one (U+D)×4U matrix [R; W] (in a reused buffer): stored that way,
    /// its transpose [Rᵀ | Wᵀ] is the B operand of the backward step's single GEMM.</summary>
    private static ReadOnlySpan<float> StackRows(ReadOnlySpan<float> r, ReadOnlySpan<float> w, ref float[]? buffer)
    {
        int length = r.Length + w.Length;
        if (buffer == null || buffer.Length < length)
            buffer = new float[length];
        r.CopyTo(buffer);
        w.CopyTo(buffer.AsSpan(r.Length));
        return buffer.AsSpan(0, length);
    }

    private static void CheckLengths(in LstmShape s, int x, int w, int r, int bias, int mask, int h0, int c0)
    {
        int g4 = s.GateWidth;
        if (x != s.InputLength || w != s.Inputs * g4 || r != s.Units * g4 || bias != g4)
            throw new ArgumentException($"LSTM spans do not match N={s.Batch}, T={s.Steps}, D={s.Inputs}, U={s.Units}.");
        if (mask != 0 && mask != s.Rows)
            throw new ArgumentException($"LSTM mask needs N·T = {s.Rows} values, got {mask}.");
        if (h0 != c0 || (h0 != 0 && h0 != s.StateLength))
            throw new ArgumentException($"LSTM initial state needs hidden and cell of N·U = {s.StateLength} values, got {h0} and {c0}.");
    }

    private static void CheckDropout(in LstmShape s, ReadOnlySpan<float> inputDropout, ReadOnlySpan<float> recurrentDropout, int dropped)
    {
        RecurrentLayout.CheckScale(inputDropout, s.Batch, s.Inputs, "LSTM input dropout mask");
        RecurrentLayout.CheckScale(recurrentDropout, s.Batch, s.Units, "LSTM recurrent dropout mask");
        if (dropped < s.DroppedHiddenLength(!recurrentDropout.IsEmpty))
            throw new ArgumentException($"LSTM recurrent dropout needs a saved-h̃ buffer of T·N·U = {s.Rows * s.Units} floats, got {dropped}.");
    }

    /// <summary>
    /// One LSTM time step on a band of batch rows (run for every step by <see cref="RecurrentStepJob"/>): the
    /// recurrent GEMM for those rows, then the cell's point-wise pass (forward), or the point-wise backward pass,
    /// then dh_{t−1} for those rows.
    /// </summary>
    private sealed class StepJob : RecurrentStepJob
    {
        [ThreadStatic] private static StepJob? t_cachedForward, t_cachedBackward;

        public LstmShape Shape;
        public bool InitialState, ReturnSequences, WantInitialGradient;
        /// <summary>dX holds nothing yet: each step stores its dX_t rows instead of adding them.</summary>
        public bool OverwriteInput;
        public float* Gates, Hidden, Cell, TanhCell, Bias, DY, DZ, DC, DroppedHidden, RecurrentDropout;
        // With dX wanted: the N×(U+D) product [dh_{t−1} | dX_t] of one step (Recurrent is then [Rᵀ | Wᵀ]), dX, m_x.
        public float* DX, DXStep, InputDropout;
        // The fused step (LstmFusedStep): time-major x̃ (filled step by step from the batch-major x, times m_x), and W,
        // R and the bias packed in panels; null for the two-pass step.
        public float* Input, BatchMajorInput, FusedWeights, FusedBias;
        // On embedded ids (ForwardOnEmbedding): the distinct rows' projections and, per position (batch-major), its row.
        public float* Projected;
        public int* Slots;

        public static StepJob Rent(in LstmShape s, PackedMatrix? recurrent, bool backward)
        {
            ref StepJob? cached = ref backward ? ref t_cachedBackward : ref t_cachedForward;
            StepJob job = cached ??= new StepJob();
            job.Prepare(s.Batch, s.Steps, s.GoBackwards, recurrent, backward);
            job.Shape = s;
            job.DroppedHidden = job.RecurrentDropout = null;
            job.DX = job.DXStep = job.InputDropout = null;
            job.Input = job.BatchMajorInput = job.FusedWeights = job.FusedBias = job.Projected = null;
            job.Slots = null;
            job.WantInitialGradient = false;
            job.OverwriteInput = false;
            return job;
        }

        /// <summary>The fused step runs its rows one register tile at a time: chains of a tile cost nothing per row.</summary>
        protected override bool ForwardInChains => FusedWeights != null;

        /// <summary>A batch of one band (below 16 rows) splits its units when R is big enough and no recurrent dropout needs
        /// h̃ whole, U a multiple of 32: the fused step by panels, the two-pass step where its product runs a row at a time
        /// (<see cref="GemmRows"/>: one or two sequences).</summary>
        protected override int SplittableUnits =>
            SplittableIf(RecurrentDropout == null && (FusedWeights != null || ProductRunsRowByRow), Shape.Units, Shape.GateWidth);

        /// <summary>
        /// <see cref="ForwardRows"/> for units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) of every row: their
        /// gate columns of z (the four ranges g·U + units), their cells, their c, tanh c and h. The same bits as the whole row
        /// (see RecurrentStepJob.UnitSplit.cs).
        /// </summary>
        protected override void ForwardUnits(int step, int worker, int firstUnit, int endUnit)
        {
            if (FusedWeights != null)
            {
                FusedUnits(step, firstUnit, endUnit);
                return;
            }
            int n = Shape.Batch, u = Shape.Units, g4 = Shape.GateWidth, block = Shape.StateLength, count = endUnit - firstUnit;
            long span = (long)count * sizeof(float);
            float* z = Gates + (long)step * n * g4;
            if (Projected != null) // z = x_t·W for these units: their columns of the ids' projected rows
            {
                int t = Shape.Steps, inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
                for (int row = 0; row < n; row++)
                {
                    float* from = Projected + (long)Slots[(long)row * t + inputStep] * g4;
                    for (int gate = 0; gate < 4; gate++)
                        Buffer.MemoryCopy(from + gate * u + firstUnit, z + (long)row * g4 + gate * u + firstUnit, span, span);
                }
            }
            if (step > 0 || InitialState) // z += h_{t−1}·R, these units' columns of each gate
            {
                float* previous = Hidden + (long)step * block;
                fixed (float* packed = Recurrent.Data)
                    for (int gate = 0; gate < 4; gate++)
                        GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, g4, gate * u + firstUnit, gate * u + endUnit, u, previous, u,
                            null, 0, packed + Recurrent.Offset, z, g4, accumulate: true);
            }
            for (int row = 0; row < n; row++)
            {
                long prev = (long)step * block + row * u + firstUnit, next = prev + block;
                float* zRow = z + (long)row * g4 + firstUnit;
                if (Skipped(step, row))
                    CarryUnits(step, row, firstUnit, count);
                else
                    ForwardRow(zRow, Bias + firstUnit, Cell + prev, Cell + next, TanhCell + prev, Hidden + next, count, u);
            }
        }

        protected override void ForwardRows(int step, int first, int end)
        {
            int n = Shape.Batch, u = Shape.Units, g4 = Shape.GateWidth, block = Shape.StateLength, rows = end - first;
            float* z = Gates + ((long)step * n + first) * g4;
            if (FusedWeights != null)
            {
                FusedRows(step, first, end);
                return;
            }
            if (Projected != null) // z = x_t·W for these rows: their ids' projected rows
            {
                int t = Shape.Steps, inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
                for (int row = first; row < end; row++)
                    Buffer.MemoryCopy(Projected + (long)Slots[(long)row * t + inputStep] * g4, z + (long)(row - first) * g4,
                        g4 * sizeof(float), g4 * sizeof(float));
            }
            if (step > 0 || InitialState) // Z_t += h_{t−1}·R for these rows: the four gates in one GEMM
            {
                float* previous = Hidden + (long)step * block + first * u;
                // h̃_{t−1} = h_{t−1}⊙m_h, kept for dR: every gate's recurrent product reads h̃ (Keras: each gate reads
                // h_{t−1} through its own mask when recurrent_dropout > 0; here one mask serves the four, see the class remarks).
                if (RecurrentDropout != null)
                {
                    float* dropped = DroppedHidden + (long)step * block + first * u;
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(previous, rows * u), new ReadOnlySpan<float>(RecurrentDropout + first * u, rows * u),
                        new Span<float>(dropped, rows * u));
                    previous = dropped;
                }
                Gemm.Multiply(false, rows, g4, u, new ReadOnlySpan<float>(previous, rows * u), u,
                    Recurrent, new Span<float>(z, rows * g4), g4, accumulate: true);
            }
            for (int row = first; row < end; row++)
            {
                long prev = (long)step * block + row * u, next = prev + block;
                float* zRow = Gates + ((long)step * n + row) * g4;
                if (Skipped(step, row))
                {
                    // A skipped step carries the state.
                    Buffer.MemoryCopy(Cell + prev, Cell + next, u * sizeof(float), u * sizeof(float));
                    Buffer.MemoryCopy(Hidden + prev, Hidden + next, u * sizeof(float), u * sizeof(float));
                    new Span<float>(TanhCell + (long)step * block + row * u, u).Clear();
                    new Span<float>(zRow, g4).Clear();
                    continue;
                }
                ForwardRow(zRow, Bias, Cell + prev, Cell + next, TanhCell + (long)step * block + row * u, Hidden + next, u);
            }
        }

        /// <summary>
        /// The fused step (<see cref="LstmFusedStep"/>): z = x_t·W + h_{t−1}·R per tile, the cell in the tile's
        /// epilogue writing the activated gates, c_t, tanh c_t and h_t; then the skipped rows carry their state.
        /// </summary>
        private void FusedRows(int step, int first, int end)
        {
            int n = Shape.Batch, t = Shape.Steps, d = Shape.Inputs, u = Shape.Units, g4 = Shape.GateWidth, block = Shape.StateLength;
            int rows = end - first;
            float* x = Input + ((long)step * n + first) * d;
            // This step's rows of x̃ = x⊙m_x to the time-major X̃ (kept for dW), by the worker that reads them next (as
            // RecurrentLayout.ToTimeMajor copies them): in the core's L1 for the tiles, and no serial pass before the loop.
            // On embedded ids there is no x: the tiles start from the rows' projections.
            int inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
            if (Projected == null)
                CopyInputRows(step, first, end);
            float* previous = Hidden + (long)step * block + first * u; // h₋₁ = 0 without an initial state
            if (RecurrentDropout != null && (step > 0 || InitialState)) // h̃_{t−1} = h_{t−1}⊙m_h, kept for dR
            {
                float* dropped = DroppedHidden + (long)step * block + first * u;
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(previous, rows * u), new ReadOnlySpan<float>(RecurrentDropout + first * u, rows * u),
                    new Span<float>(dropped, rows * u));
                previous = dropped;
            }
            var outputs = new LstmFusedStep.Outputs
            {
                Gates = Gates + ((long)step * n + first) * g4, GatesStride = g4,
                CellIn = Cell + (long)step * block + first * u, CellOut = Cell + (long)(step + 1) * block + first * u,
                TanhCell = TanhCell + (long)step * block + first * u, Hidden = Hidden + (long)(step + 1) * block + first * u,
                Mask = Mask == null ? null : Mask + (long)first * t + RecurrentLayout.InputStep(step, t, GoBackwards), MaskStride = t,
            };
            if (Projected != null)
                LstmFusedStep.StepProjected(FusedWeights, FusedBias, d, u, rows, Projected, Slots + (long)first * t + inputStep, t,
                    previous, u, outputs);
            else
                LstmFusedStep.Step(FusedWeights, FusedBias, d, u, rows, x, d, previous, u, outputs);
            if (Mask == null)
                return;
            for (int row = first; row < end; row++)
                if (Skipped(step, row)) // a skipped step carries the state
                {
                    long prev = (long)step * block + row * u, next = prev + block;
                    Buffer.MemoryCopy(Cell + prev, Cell + next, u * sizeof(float), u * sizeof(float));
                    Buffer.MemoryCopy(Hidden + prev, Hidden + next, u * sizeof(float), u * sizeof(float));
                    new Span<float>(TanhCell + (long)step * block + row * u, u).Clear();
                    new Span<float>(Gates + ((long)step * n + row) * g4, g4).Clear();
                }
        }

        /// <summary>Step <paramref name="step"/>'s rows [first, end) of x̃ = x⊙m_x into the time-major X̃ the fused tiles read
        /// (and dW later).</summary>
        private void CopyInputRows(int step, int first, int end)
        {
            int n = Shape.Batch, t = Shape.Steps, d = Shape.Inputs, inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
            for (int row = first; row < end; row++)
            {
                var from = new ReadOnlySpan<float>(BatchMajorInput + ((long)row * t + inputStep) * d, d);
                var to = new Span<float>(Input + ((long)step * n + row) * d, d);
                if (InputDropout == null)
                    from.CopyTo(to);
                else
                    TensorPrimitives.Multiply(from, new ReadOnlySpan<float>(InputDropout + (long)row * d, d), to);
            }
        }

        /// <summary>Split by units, the fused step's workers all read every row of x_t: X̃ is filled for every step first.</summary>
        protected override void BeforeUnitSplit()
        {
            if (FusedWeights != null && Projected == null)
                for (int step = 0; step < Shape.Steps; step++)
                    CopyInputRows(step, 0, Shape.Batch);
        }

        /// <summary><see cref="FusedRows"/> for the panels of units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>)
        /// of every row (X̃ already filled, <see cref="BeforeUnitSplit"/>); skipped rows carry these units' state.</summary>
        private void FusedUnits(int step, int firstUnit, int endUnit)
        {
            int n = Shape.Batch, t = Shape.Steps, d = Shape.Inputs, u = Shape.Units, g4 = Shape.GateWidth, block = Shape.StateLength;
            int inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
            int firstPanel = firstUnit / LstmFusedStep.Units, endPanel = endUnit / LstmFusedStep.Units;
            float* previous = Hidden + (long)step * block; // h₋₁ = 0 without an initial state
            var outputs = new LstmFusedStep.Outputs
            {
                Gates = Gates + (long)step * n * g4, GatesStride = g4,
                CellIn = Cell + (long)step * block, CellOut = Cell + (long)(step + 1) * block,
                TanhCell = TanhCell + (long)step * block, Hidden = Hidden + (long)(step + 1) * block,
                Mask = Mask == null ? null : Mask + inputStep, MaskStride = t,
            };
            if (Projected != null)
                LstmFusedStep.StepProjected(FusedWeights, FusedBias, d, u, n, Projected, Slots + inputStep, t, previous, u, outputs,
                    firstPanel, endPanel);
            else
                LstmFusedStep.Step(FusedWeights, FusedBias, d, u, n, Input + (long)step * n * d, d, previous, u, outputs, firstPanel, endPanel);
            for (int row = 0; row < n && Mask != null; row++)
                if (Skipped(step, row))
                    CarryUnits(step, row, firstUnit, endUnit - firstUnit);
        }

        /// <summary>A skipped step of <paramref name="row"/> for units [<paramref name="firstUnit"/>, + <paramref name="count"/>):
        /// c and h carried to the next step, tanh c and the four gates' columns zero (as <see cref="ForwardRows"/> does for the
        /// whole row).</summary>
        private void CarryUnits(int step, int row, int firstUnit, int count)
        {
            int n = Shape.Batch, u = Shape.Units, g4 = Shape.GateWidth, block = Shape.StateLength;
            long prev = (long)step * block + row * u + firstUnit, next = prev + block, span = (long)count * sizeof(float);
            Buffer.MemoryCopy(Cell + prev, Cell + next, span, span);
            Buffer.MemoryCopy(Hidden + prev, Hidden + next, span, span);
            new Span<float>(TanhCell + prev, count).Clear();
            for (int gate = 0; gate < 4; gate++)
                new Span<float>(Gates + ((long)step * n + row) * g4 + gate * u + firstUnit, count).Clear();
        }

        /// <summary>A batch of one band splits its units backward too when R is big enough, U a multiple of 32, and its
        /// product runs a row at a time (<see cref="GemmRows"/>: below the micro-tile's rows) or each worker's columns were
        /// packed on their own (<see cref="PackTileSplit"/>); dX's columns split alongside.</summary>
        protected override int SplittableBackwardUnits =>
            SplittableIf(BackwardProductSplits, Shape.Units, Shape.GateWidth);

        /// <summary>Each worker's columns of the backward product's B ([Rᵀ | Wᵀ] from <paramref name="stacked"/> = [R; W] when
        /// dX is wanted, else Rᵀ from R) packed on their own, for a batch of whole row tiles (<see cref="RecurrentStepJob.PackUnitColumns"/>).</summary>
        public void PackTileSplit(ReadOnlySpan<float> stacked, bool wantInput) =>
            PackUnitColumns(SplittableIf(true, Shape.Units, Shape.GateWidth), wantInput ? Shape.Inputs : 0, Shape.GateWidth, stacked);

        protected override int BackwardInputColumns => DX == null ? 0 : Shape.Inputs;

        protected override void BackwardRows(int step, int first, int end, float* hIn, float* hOut)
        {
            int n = Shape.Batch, u = Shape.Units, g4 = Shape.GateWidth;
            for (int row = first; row < end; row++)
                BackwardCell(step, row, 0, u, hIn, hOut);
            bool wantDh = step > 0 || WantInitialGradient; // at step 0: dh₋₁, only for an initial state
            int rows = end - first;
            var dzRows = new ReadOnlySpan<float>(DZ + ((long)step * n + first) * g4, rows * g4);
            if (DX == null)
            {
                if (wantDh) // dh_{t−1} += dZ_t·Rᵀ for these rows (hOut was cleared, or holds a skipped row's dh + dy)
                    Gemm.Multiply(false, rows, u, g4, dzRows, g4, Recurrent, new Span<float>(hOut + first * u, rows * u), u, accumulate: true);
            }
            else
            {
                // [dh_{t−1} | dX_t] = dZ_t·[Rᵀ | Wᵀ] for these rows, one GEMM (rows×(U+D)); then dh_{t−1} goes to hOut
                // (a skipped row's dZ is zero: it keeps the dh + dy it passed through) and dX_t into dX.
                int width = u + Shape.Inputs;
                Gemm.Multiply(false, rows, width, g4, dzRows, g4, Recurrent, new Span<float>(DXStep + (long)first * width, rows * width), width);
                StepGradientsOut(step, first, end, 0, wantDh ? u : 0, 0, Shape.Inputs, hOut);
            }
            if (wantDh)
                ThroughRecurrentDropout(step, first, end, 0, u, hOut);
        }

        protected override void BackwardCellUnits(int step, int firstUnit, int endUnit, float* hIn, float* hOut)
        {
            for (int row = 0; row < Shape.Batch; row++)
                BackwardCell(step, row, firstUnit, endUnit - firstUnit, hIn, hOut);
        }

        protected override void BackwardProductUnits(int step, int worker, int firstUnit, int endUnit, int firstInput, int endInput, float* hIn, float* hOut)
        {
            bool wantDh = step > 0 || WantInitialGradient;
            if (HasUnitColumns)
            {
                TileProductUnits(step, worker, firstUnit, endUnit, firstInput, endInput, hOut, wantDh);
                return;
            }
            int n = Shape.Batch, u = Shape.Units, g4 = Shape.GateWidth;
            float* dz = DZ + (long)step * n * g4;
            fixed (float* data = Recurrent.Data)
            {
                float* packed = data + Recurrent.Offset;
                if (DX == null)
                {
                    if (wantDh && firstUnit < endUnit) // the same column chains as the whole product (GemmRows.MultiplyColumnRange)
                        GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, u, firstUnit, endUnit, g4, dz, g4, null, 0, packed, hOut, u,
                            accumulate: true);
                }
                else
                {
                    int width = u + Shape.Inputs;
                    if (firstUnit < endUnit)
                        GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, width, firstUnit, endUnit, g4, dz, g4, null, 0, packed, DXStep, width,
                            accumulate: false);
                    if (firstInput < endInput)
                        GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, width, u + firstInput, u + endInput, g4, dz, g4, null, 0, packed, DXStep,
                            width, accumulate: false);
                    StepGradientsOut(step, 0, n, firstUnit, wantDh ? endUnit : firstUnit, firstInput, endInput, hOut);
                }
            }
            if (wantDh)
                ThroughRecurrentDropout(step, 0, n, firstUnit, endUnit, hOut);
        }

        /// <summary>
        /// <see cref="BackwardProductUnits"/> from this worker's own packed columns (<see cref="RecurrentStepJob.PackUnitColumns"/>): its columns
        /// [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) of dh_{t−1} and [<paramref name="firstInput"/>,
        /// <paramref name="endInput"/>) of dX_t, each a product of whole row tiles over the same KC slabs as the whole one.
        /// </summary>
        private void TileProductUnits(int step, int worker, int firstUnit, int endUnit, int firstInput, int endInput, float* hOut, bool wantDh)
        {
            int n = Shape.Batch, u = Shape.Units, g4 = Shape.GateWidth, units = endUnit - firstUnit, inputs = endInput - firstInput;
            if (units + inputs == 0)
                return;
            var dz = new ReadOnlySpan<float>(DZ + (long)step * n * g4, n * g4);
            PackedMatrix columns = UnitColumns(worker);
            if (DX == null)
            {
                if (wantDh)
                    Gemm.Multiply(false, n, units, g4, dz, g4, columns, new Span<float>(hOut + firstUnit, (n - 1) * u + units), u, accumulate: true);
            }
            else
            {
                // This worker's columns of [dh_{t−1} | dX_t] are one range of the product: its units, then its inputs.
                int width = u + Shape.Inputs, first = units > 0 ? firstUnit : u + firstInput;
                Gemm.Multiply(false, n, units + inputs, g4, dz, g4, columns, new Span<float>(DXStep + first, (n - 1) * width + units + inputs), width);
                StepGradientsOut(step, 0, n, firstUnit, wantDh ? endUnit : firstUnit, firstInput, endInput, hOut);
            }
            if (wantDh)
                ThroughRecurrentDropout(step, 0, n, firstUnit, endUnit, hOut);
        }

        /// <summary>
        /// The backward cell of <paramref name="row"/> at <paramref name="step"/> for units [<paramref name="firstUnit"/>,
        /// + <paramref name="count"/>): dZ's columns of those units in each gate and dc_{t−1}; dh_{t−1} of those units in
        /// <paramref name="hOut"/> cleared for the product to add into, or on a skipped step dZ zero and dh_t + dy passed
        /// straight to step t−1. A range starting on a multiple of 16 units gives each unit the whole row's bits.
        /// </summary>
        private void BackwardCell(int step, int row, int firstUnit, int count, float* hIn, float* hOut)
        {
            int n = Shape.Batch, u = Shape.Units, g4 = Shape.GateWidth;
            long at = (long)step * Shape.StateLength + row * u + firstUnit;
            float* dyRow = RecurrentLayout.OutputGradientRow(DY, ReturnSequences, row, step, Shape.Steps, u, firstUnit);
            float* dzRow = DZ + ((long)step * n + row) * g4 + firstUnit;
            float* dhIn = hIn + row * u + firstUnit, dhOut = hOut + row * u + firstUnit;
            if (Skipped(step, row))
            {
                for (int gate = 0; gate < 4; gate++)
                    new Span<float>(dzRow + gate * u, count).Clear();
                for (int j = 0; j < count; j++)
                    dhOut[j] = dhIn[j] + (dyRow == null ? 0f : dyRow[j]);
                return;
            }
            new Span<float>(dhOut, count).Clear();
            BackwardRow(Gates + ((long)step * n + row) * g4 + firstUnit, Cell + at, TanhCell + at, dhIn, dyRow, DC + row * u + firstUnit,
                dzRow, count, u);
        }

        /// <summary>
        /// From the step's product [dh_{t−1} | dX_t] in DXStep (rows×(U+D)): for rows [<paramref name="first"/>,
        /// <paramref name="end"/>), dh_{t−1}'s units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) into
        /// <paramref name="hOut"/> (a skipped row's dZ is zero: it keeps the dh + dy it passed through), and dX_t's columns
        /// [<paramref name="firstInput"/>, <paramref name="endInput"/>) times the input mask (x̃ = x⊙m_x) into the
        /// batch-major dX (stored when dX is new).
        /// </summary>
        private void StepGradientsOut(int step, int first, int end, int firstUnit, int endUnit, int firstInput, int endInput, float* hOut)
        {
            int t = Shape.Steps, u = Shape.Units, d = Shape.Inputs, width = u + d, inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
            int units = endUnit - firstUnit, inputs = endInput - firstInput;
            for (int row = first; row < end; row++)
            {
                float* productRow = DXStep + (long)row * width;
                if (units > 0 && !Skipped(step, row))
                    new ReadOnlySpan<float>(productRow + firstUnit, units).CopyTo(new Span<float>(hOut + row * u + firstUnit, units));
                if (inputs > 0)
                    RecurrentLayout.StoreOrAdd(new ReadOnlySpan<float>(productRow + u + firstInput, inputs),
                        new Span<float>(DX + ((long)row * t + inputStep) * d + firstInput, inputs),
                        InputDropout == null ? default : new ReadOnlySpan<float>(InputDropout + (long)row * d + firstInput, inputs),
                        accumulate: !OverwriteInput);
            }
        }

        /// <summary>With recurrent dropout the step read h̃ = h⊙m_h, so dh_{t−1} = (dZ·Rᵀ)⊙m_h for rows [<paramref name="first"/>,
        /// <paramref name="end"/>) and units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) (skipped rows passed dh through).</summary>
        private void ThroughRecurrentDropout(int step, int first, int end, int firstUnit, int endUnit, float* hOut)
        {
            if (RecurrentDropout == null || firstUnit >= endUnit)
                return;
            int u = Shape.Units, count = endUnit - firstUnit;
            for (int row = first; row < end; row++)
                if (!Skipped(step, row))
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(hOut + row * u + firstUnit, count),
                        new ReadOnlySpan<float>(RecurrentDropout + row * u + firstUnit, count), new Span<float>(hOut + row * u + firstUnit, count));
        }
    }

    // ---- the fused point-wise passes -------------------------------------------------------------

    /// <summary>The widest vector the cell's point-wise passes use on this machine (see <see cref="RecurrentCellMath.NativeLanes"/>).</summary>
    internal static int NativeCellLanes => RecurrentCellMath.NativeLanes;

    /// <summary>
    /// The width in use (shared by the recurrent kernels): <see cref="NativeCellLanes"/>, or a narrower one set by
    /// the tests to check every path against the reference on one machine.
    /// </summary>
    internal static int CellLanes
    {
        get => RecurrentCellMath.Lanes;
        set => RecurrentCellMath.Lanes = value;
    }

    /// <summary>
    /// One sequence's step: z (4U, pre-activation without bias) becomes the activated gates in place;
    /// c_t, tanh(c_t) and h_t are written. The widest vectors first, then a scalar tail.
    /// </summary>
    internal static void ForwardRow(float* z, float* bias, float* cPrev, float* cOut, float* tanhC, float* h, int u) =>
        ForwardRow(z, bias, cPrev, cOut, tanhC, h, u, u);

    /// <summary>
    /// <see cref="ForwardRow(float*, float*, float*, float*, float*, float*, int)"/> for <paramref name="count"/> units of a
    /// row whose gate blocks are <paramref name="gateStride"/> (= U) floats apart: z and bias point at the first unit's
    /// i gate, the state pointers at its c, tanh c and h. A range that starts on a multiple of 16 units gives each unit the
    /// bits the whole row gives it (the same lanes take it).
    /// </summary>
    internal static void ForwardRow(float* z, float* bias, float* cPrev, float* cOut, float* tanhC, float* h, int count, int gateStride)
    {
        int j = 0, widest = CellLanes;
        if (widest >= 16)
            j = ForwardLanes<Lanes512>(j, z, bias, cPrev, cOut, tanhC, h, count, gateStride);
        if (widest >= 8)
            j = ForwardLanes<Lanes256>(j, z, bias, cPrev, cOut, tanhC, h, count, gateStride);
        if (widest >= 4)
            j = ForwardLanes<Lanes128>(j, z, bias, cPrev, cOut, tanhC, h, count, gateStride);
        ForwardLanes<Lanes1>(j, z, bias, cPrev, cOut, tanhC, h, count, gateStride);
    }

    /// <summary>The forward cell formula on whole vectors of <typeparamref name="T"/> from column j; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardLanes<T>(int j, float* z, float* bias, float* cPrev, float* cOut, float* tanhC, float* h, int u, int gateStride)
        where T : struct, ILanes<T>
    {
        for (; j <= u - T.Count; j += T.Count)
        {
            nuint at = (nuint)j, f4 = (nuint)gateStride, g4 = (nuint)(2 * gateStride), o4 = (nuint)(3 * gateStride);
            T i = Sigmoid(T.Load(ref *z, at) + T.Load(ref *bias, at));
            T f = Sigmoid(T.Load(ref *z, f4 + at) + T.Load(ref *bias, f4 + at));
            T g = Tanh(T.Load(ref *z, g4 + at) + T.Load(ref *bias, g4 + at));
            T o = Sigmoid(T.Load(ref *z, o4 + at) + T.Load(ref *bias, o4 + at));
            T.Store(i, ref *z, at);
            T.Store(f, ref *z, f4 + at);
            T.Store(g, ref *z, g4 + at);
            T.Store(o, ref *z, o4 + at);
            T c = f * T.Load(ref *cPrev, at) + i * g;
            T.Store(c, ref *cOut, at);
            T th = Tanh(c);
            T.Store(th, ref *tanhC, at);
            T.Store(o * th, ref *h, at);
        }
        return j;
    }

    /// <summary>
    /// One sequence's step backward for <paramref name="count"/> units of a row whose gate blocks are
    /// <paramref name="gateStride"/> (= U) floats apart: from dh = dhIn (+ dY) and the running dc, writes those units'
    /// columns of dZ (4U) and updates dc to dc_{t−1} in place.
    /// </summary>
    /// <remarks>
    /// dc_t = dc + dh⊙o⊙(1 − tanh²c); dz_i = dc_t⊙g⊙i(1−i); dz_f = dc_t⊙c_{t−1}⊙f(1−f);
    /// dz_g = dc_t⊙i⊙(1−g²); dz_o = dh⊙tanh c⊙o(1−o); dc_{t−1} = dc_t⊙f.
    /// <para>dh is read and dc and dz are written with magnitudes below <see cref="TinyFloats.Floor"/> set
    /// to zero: over a long sequence they decay towards the subnormal floats, which Intel cores compute 100x slower.</para>
    /// </remarks>
    private static void BackwardRow(float* gate, float* cPrev, float* tanhC, float* dhIn, float* dy, float* dc,
        float* dz, int count, int gateStride)
    {
        int j = 0, widest = CellLanes;
        if (widest >= 16)
            j = BackwardLanes<Lanes512>(j, gate, cPrev, tanhC, dhIn, dy, dc, dz, count, gateStride);
        if (widest >= 8)
            j = BackwardLanes<Lanes256>(j, gate, cPrev, tanhC, dhIn, dy, dc, dz, count, gateStride);
        if (widest >= 4)
            j = BackwardLanes<Lanes128>(j, gate, cPrev, tanhC, dhIn, dy, dc, dz, count, gateStride);
        BackwardLanes<Lanes1>(j, gate, cPrev, tanhC, dhIn, dy, dc, dz, count, gateStride);
    }

    /// <summary>The backward cell formula on whole vectors of <typeparamref name="T"/> from column j; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardLanes<T>(int j, float* gate, float* cPrev, float* tanhC, float* dhIn, float* dy, float* dc,
        float* dz, int count, int gateStride) where T : struct, ILanes<T>
    {
        T one = T.Create(1f);
        for (; j <= count - T.Count; j += T.Count)
        {
            nuint at = (nuint)j, f4 = (nuint)gateStride, g4 = (nuint)(2 * gateStride), o4 = (nuint)(3 * gateStride);
            T dh = T.Load(ref *dhIn, at);
            if (dy != null)
                dh += T.Load(ref *dy, at);
            dh = TinyFloats.Flush(dh); // what flows back through time decays: see TinyFloats
            T i = T.Load(ref *gate, at), f = T.Load(ref *gate, f4 + at), g = T.Load(ref *gate, g4 + at), o = T.Load(ref *gate, o4 + at);
            T th = T.Load(ref *tanhC, at);
            T dct = T.Load(ref *dc, at) + dh * o * (one - th * th);
            T dzi = dct * g * i * (one - i);
            T dzf = dct * T.Load(ref *cPrev, at) * f * (one - f);
            T dzg = dct * i * (one - g * g);
            T dzo = dh * th * o * (one - o);
            T.Store(TinyFloats.Flush(dct * f), ref *dc, at);
            T.Store(TinyFloats.Flush(dzi), ref *dz, at);
            T.Store(TinyFloats.Flush(dzf), ref *dz, f4 + at);
            T.Store(TinyFloats.Flush(dzg), ref *dz, g4 + at);
            T.Store(TinyFloats.Flush(dzo), ref *dz, o4 + at);
        }
        return j;
    }
}
