using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace NanoNet.Kernels;

using static RecurrentCellMath;

/// <summary>
/// The dimensions of one GRU call and the lengths of the buffers it needs.
/// </summary>
/// <param name="Batch">N, sequences in the batch.</param>
/// <param name="Steps">T, time steps.</param>
/// <param name="Inputs">D, features per step.</param>
/// <param name="Units">U, hidden units.</param>
public readonly record struct GruShape(int Batch, int Steps, int Inputs, int Units)
{
    /// <summary>Whether the steps are read last to first (Keras' <c>go_backwards</c>; see <see cref="LstmShape.GoBackwards"/>).</summary>
    public bool GoBackwards { get; init; }

    /// <summary>3U: the gates z (update), r (reset) and h (candidate) side by side.</summary>
    public int GateWidth => 3 * Units;

    /// <summary>T·N: rows of the time-major matrices (row t·N + n is step t of sequence n).</summary>
    public int Rows => Steps * Batch;

    /// <summary>Length of the time-major input copy: T·N·D.</summary>
    public int InputLength => Rows * Inputs;

    /// <summary>Length of the gate buffer (and of each gradient buffer): T·N·3U.</summary>
    public int GatesLength => Rows * GateWidth;

    /// <summary>Length of one state block (N·U).</summary>
    public int StateLength => Batch * Units;

    /// <summary>Length of the hidden state history: (T+1)·N·U (block 0 is the initial state).</summary>
    public int HistoryLength => (Steps + 1) * Batch * Units;

    /// <summary>Length of the saved recurrent part of the candidate, h̃_{t−1}·R_h + b_Rh: T·N·U.</summary>
    public int CandidateLength => Rows * Units;

    /// <summary>Length of the saved h_{t−1}⊙recurrent-dropout mask: T·N·U with recurrent dropout, else 0.</summary>
    public int DroppedHiddenLength(bool recurrentDropout) => recurrentDropout ? Rows * Units : 0;

    /// <summary>Length of the output: N·T·U with return sequences, else N·U.</summary>
    public int OutputLength(bool returnSequences) => returnSequences ? Rows * Units : Batch * Units;

    /// <summary>Scratch floats <see cref="GruKernels.Forward"/> needs: one step's recurrent products, N·3U.</summary>
    public int ForwardScratchLength => Batch * GateWidth;

    /// <summary>
    /// Scratch floats <see cref="GruKernels.Backward"/> needs: three N·U state buffers, plus Wᵀ (3U·D) and T·N·D
    /// for dX.
    /// </summary>
    public int BackwardScratchLength(bool wantInputGradient) =>
        3 * StateLength + (wantInputGradient ? GateWidth * Inputs + InputLength : 0);

    internal void Validate()
    {
        if (Batch < 0 || Steps < 1 || Inputs < 1 || Units < 1)
            throw new ArgumentException($"GRU needs at least one step, one input feature and one unit, got N={Batch}, T={Steps}, D={Inputs}, U={Units}.");
        // Every buffer length is an int product of these: refuse a shape whose largest buffer would not fit, before one wraps.
        long largest = (long)(Steps + 1) * Batch * Math.Max(3 * (long)Units, Math.Max(Inputs, Units));
        if (largest > int.MaxValue)
            throw new ArgumentException($"GRU with N={Batch}, T={Steps}, D={Inputs}, U={Units} needs buffers of {largest:N0} floats, more than one buffer can hold ({int.MaxValue:N0}): use fewer steps or a smaller batch per call.");
    }
}

/// <summary>
/// What the GRU forward pass keeps for the backward pass (all time-major, see <see cref="GruKernels"/>).
/// </summary>
public ref struct GruBuffers
{
    /// <summary>x (times the input dropout mask) copied to time-major order, T·N×D.</summary>
    public Span<float> InputTimeMajor;

    /// <summary>The activated gates z, r and the candidate ĥ per step, T·N×3U.</summary>
    public Span<float> Gates;

    /// <summary>Hidden states, (T+1)·N×U: block 0 is h₋₁ (the initial state), block t+1 is h_t.</summary>
    public Span<float> Hidden;

    /// <summary>The recurrent part of the candidate, h̃_{t−1}·R_h + b_Rh, per step, T·N×U (dr needs it).</summary>
    public Span<float> Candidate;

    /// <summary>With recurrent dropout, T·N×U: block t is h_{t−1}⊙(the recurrent mask); else empty.</summary>
    public Span<float> DroppedHidden;
}

/// <summary>
/// A whole-sequence GRU layer with Keras semantics (<c>reset_after=True</c>, the default and cuDNN's form) on spans:
/// forward over all T steps and full back-propagation through time.
/// </summary>
/// <remarks>
/// <para>Shape legend: N = batch, T = time steps, D = input features, U = units, 3U = the gates z (update),
/// r (reset), h (candidate) in Keras' order. x is (N, T, D) batch-major; W is D×3U, R is U×3U, the bias is 2×3U
/// (row 0 the input bias b_W, row 1 the recurrent bias b_R); y is (N, U) or (N, T, U).
/// Step t, with x̂ = x_t·W + b_W and ĥ = h_{t−1}·R + b_R (each split into z, r, h parts):
/// z = σ(x̂_z + ĥ_z); r = σ(x̂_r + ĥ_r); c = tanh(x̂_h + r⊙ĥ_h); h_t = z⊙h_{t−1} + (1 − z)⊙c.</para>
/// <para>Layout as <see cref="LstmKernels"/>: the input projection of all steps is one GEMM; each worker takes a
/// band of batch rows through every step (one parallel region per pass forward, per chunk of steps backward), and per step computes that band's ĥ = h_{t−1}·R (one 3-gate GEMM with R packed once) and
/// runs the point-wise cell. The reset gate multiplies ĥ_h after the product, so the recurrent product cannot be
/// accumulated into the input projection as the LSTM's is: it goes to an N×3U scratch, and ĥ_h is kept for dr.</para>
/// <para>Backward, per step, with dh = dh_t (from dY and step t+1):
/// dz̄ = dh⊙(h_{t−1} − c)⊙z(1−z); dc̄ = dh⊙(1−z)⊙(1−c²); dr̄ = dc̄⊙ĥ_h⊙r(1−r). The input side's gradient is
/// dX̂ = [dz̄, dr̄, dc̄], the recurrent side's dĤ = [dz̄, dr̄, dc̄⊙r], and dh_{t−1} = dh⊙z + dĤ·Rᵀ. The loop runs in
/// chunks of steps (<see cref="RecurrentStepJob.ChunkSteps(int, int, long)"/>: the chunk's dX̂ and dĤ about the size
/// of L2), and after each chunk, as one GEMM each over its rows while they are cached: dW += X̃ᵀ·dX̂, dR += H̃_prevᵀ·dĤ,
/// dX = dX̂·Wᵀ; db_W and db_R add the column sums of its dX̂ and dĤ (row order).</para>
/// <para>Masks, dropout (one input mask N×D and one recurrent mask N×U per sequence: x̃ = x⊙m_x feeds the input
/// GEMM, h̃ = h⊙m_h feeds the recurrent GEMM, the mixing z⊙h_{t−1} uses h itself) and going backwards work as in
/// <see cref="LstmKernels"/>; so does determinism (bit-identical at any thread count).</para>
/// <para>What Keras does (GRUCell.call, reset_after, Keras 2.x and 3.x): the recurrent products of z, r and the
/// candidate read the dropped h̃_{t−1} (the reset gate multiplies the candidate's product after it), and the final
/// mix h_t = z⊙h_{t−1} + (1 − z)⊙c reads the <i>undropped</i> h_{t−1}, as here (older Keras 2 releases' implementation 2
/// multiplied h_{t−1} by the mask in place and so mixed the dropped state; tf.keras 2.x and Keras 3 do not). With
/// Keras 3 one input mask and one recurrent mask are shared by the three gates, as here (its GRUCell draws one of
/// each per sequence); tf.keras 2.x switched a cell with <c>recurrent_dropout</c> > 0 to implementation 1 and drew
/// three independent masks of each kind, one per gate: the same expected scaling, an untied noise pattern.</para>
/// </remarks>
public static unsafe class GruKernels
{
    [ThreadStatic] private static PackedMatrix? t_packedR, t_packedRT;

    /// <summary>
    /// Runs the GRU over the whole sequence, filling <paramref name="saved"/> (needed by <see cref="Backward"/>)
    /// and <paramref name="y"/>.
    /// </summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="x">Input, (N, T, D).</param>
    /// <param name="w">Kernel W, D×3U.</param>
    /// <param name="r">Recurrent kernel R, U×3U.</param>
    /// <param name="bias">Bias, 2×3U: the input bias, then the recurrent bias.</param>
    /// <param name="mask">Empty, or N×T with 0 where a step is skipped.</param>
    /// <param name="initialHidden">Empty (zero state) or N×U.</param>
    /// <param name="y">Output: (N, T, U) with <paramref name="returnSequences"/>, else (N, U) = h_{T−1}.</param>
    /// <param name="returnSequences">Whether every step's h is returned.</param>
    /// <param name="saved">Buffers of the lengths given by <paramref name="s"/>.</param>
    /// <param name="scratch">Workspace of <see cref="GruShape.ForwardScratchLength"/> floats.</param>
    /// <param name="inputDropout">Empty, or N×D: each sequence's input dropout mask (0 or 1/(1 − rate)).</param>
    /// <param name="recurrentDropout">Empty, or N×U: each sequence's recurrent dropout mask.</param>
    public static void Forward(in GruShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, ReadOnlySpan<float> initialHidden, Span<float> y,
        bool returnSequences, GruBuffers saved, Span<float> scratch, ReadOnlySpan<float> inputDropout = default,
        ReadOnlySpan<float> recurrentDropout = default)
    {
        s.Validate();
        int n = s.Batch, t = s.Steps, d = s.Inputs, u = s.Units, g3 = s.GateWidth, block = s.StateLength;
        CheckLengths(s, x.Length, w.Length, r.Length, bias.Length, mask.Length, initialHidden.Length);
        CheckDropout(s, inputDropout, recurrentDropout, saved.DroppedHidden.Length);
        if (y.Length != s.OutputLength(returnSequences) || scratch.Length < s.ForwardScratchLength)
            throw new ArgumentException($"GRU output needs {s.OutputLength(returnSequences)} floats and scratch {s.ForwardScratchLength}, got {y.Length} and {scratch.Length}.");
        if (n == 0)
            return;

        RecurrentLayout.ToTimeMajor(x, saved.InputTimeMajor, n, t, d, s.GoBackwards, inputDropout);
        // Input projection of every step at once: X̂ = X·W, (T·N)×3U (the bias is added per step).
        Gemm.Multiply(false, false, s.Rows, g3, d, saved.InputTimeMajor, d, w, g3, saved.Gates, g3);

        Span<float> h0 = saved.Hidden[..block];
        bool initialState = !initialHidden.IsEmpty;
        if (initialState)
            initialHidden.CopyTo(h0);
        else
            h0.Clear();

        PackedMatrix packedR = t_packedR = PackedMatrix.Pack(false, u, g3, r, g3, t_packedR);
        fixed (float* gates = saved.Gates, hidden = saved.Hidden, candidate = saved.Candidate, pb = bias, pm = mask,
               dropped = saved.DroppedHidden, pmh = recurrentDropout, pScratch = scratch)
        {
            StepJob job = StepJob.Rent(s, packedR, backward: false);
            job.Gates = gates; job.Hidden = hidden; job.Candidate = candidate; job.Bias = pb; job.Mask = pm;
            job.DroppedHidden = dropped; job.RecurrentDropout = pmh; job.Scratch = pScratch;
            job.InitialState = initialState;
            job.PackForwardTileSplit(r);
            job.RunForward();
        }

        if (returnSequences)
            RecurrentLayout.FromTimeMajor(saved.Hidden[block..], y, n, t, u, accumulate: false);
        else
            saved.Hidden.Slice(t * block, block).CopyTo(y);
    }

    /// <summary>
    /// Back-propagation through time: accumulates dW, dR, dBias and dX (each skipped when its span is empty) from
    /// dY, using what <see cref="Forward"/> saved. No gradient flows into an initial state.
    /// </summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="returnSequences">As in the forward call; fixes the shape of dY.</param>
    /// <param name="w">Kernel W, D×3U.</param>
    /// <param name="r">Recurrent kernel R, U×3U.</param>
    /// <param name="mask">As in the forward call.</param>
    /// <param name="hasInitialState">Whether the forward call started from a given state (then h₋₁ contributes to dR).</param>
    /// <param name="saved">What the forward call saved (the gate buffer changes only when it is <paramref name="dInput"/>).</param>
    /// <param name="dY">Gradient of the output, same shape as y.</param>
    /// <param name="dInput">Workspace T·N×3U: receives dX̂, the gradient of the input projection. It may be the saved
    /// gate buffer itself when the forward's buffers are not needed again (each step reads its row of gates, then
    /// writes its dX̂ over it), as <see cref="LstmKernels.Backward"/> allows for its dZ.</param>
    /// <param name="dRecurrent">Workspace T·N×3U: receives dĤ, the gradient of the recurrent products.</param>
    /// <param name="scratch">Workspace of <see cref="GruShape.BackwardScratchLength"/> floats.</param>
    /// <param name="dX">(N, T, D) accumulated, or empty.</param>
    /// <param name="dW">D×3U accumulated, or empty.</param>
    /// <param name="dR">U×3U accumulated, or empty.</param>
    /// <param name="dBias">2×3U accumulated, or empty.</param>
    /// <param name="inputDropout">As in the forward call.</param>
    /// <param name="recurrentDropout">As in the forward call.</param>
    /// <param name="dFinalHidden">Empty, or N×U: the gradient of the final state h_{T−1} returned as a state output
    /// (Keras' <c>return_state</c>); it seeds the dh arriving at the last step.</param>
    /// <param name="dInitialHidden">Empty, or N×U accumulated: the gradient of the initial state h₋₁ (Keras'
    /// <c>initial_state</c>); needs <paramref name="hasInitialState"/>.</param>
    /// <param name="overwriteInput">dX holds nothing yet (a new gradient with any contents): it is written, not added to.</param>
    public static void Backward(in GruShape s, bool returnSequences, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> mask, bool hasInitialState, GruBuffers saved, ReadOnlySpan<float> dY, Span<float> dInput,
        Span<float> dRecurrent, Span<float> scratch, Span<float> dX, Span<float> dW, Span<float> dR, Span<float> dBias,
        ReadOnlySpan<float> inputDropout = default, ReadOnlySpan<float> recurrentDropout = default,
        ReadOnlySpan<float> dFinalHidden = default, Span<float> dInitialHidden = default, bool overwriteInput = false)
    {
        s.Validate();
        int n = s.Batch, t = s.Steps, d = s.Inputs, u = s.Units, g3 = s.GateWidth, block = s.StateLength;
        if (dY.Length != s.OutputLength(returnSequences) || dInput.Length < s.GatesLength || dRecurrent.Length < s.GatesLength
            || scratch.Length < s.BackwardScratchLength(!dX.IsEmpty))
            throw new ArgumentException("GRU backward: a buffer has the wrong length.");
        CheckDropout(s, inputDropout, recurrentDropout, saved.DroppedHidden.Length);
        RecurrentLayout.CheckStateGradients(block, hasInitialState, dFinalHidden, default, dInitialHidden, default, "GRU");
        if (n == 0)
            return;

        RecurrentLayout.CopyOrClear(dFinalHidden, scratch[..block]); // dh arriving from "step T": zero, or the final state's gradient
        PackedMatrix packedRT = t_packedRT = PackedMatrix.Pack(true, g3, u, r, g3, t_packedRT);
        var weights = new ChunkGradients
        {
            Input = saved.InputTimeMajor, Previous = recurrentDropout.IsEmpty ? saved.Hidden : saved.DroppedHidden,
            FirstStep = hasInitialState ? 0 : 1, DInput = dInput, DRecurrent = dRecurrent, DW = dW, DR = dR, DBias = dBias,
        };
        if (!dX.IsEmpty) // dX = dX̂·Wᵀ, time-major, chunk by chunk; back to batch-major after the loop
        {
            Span<float> wT = scratch.Slice(3 * block, g3 * d);
            RecurrentLayout.Transpose(w, wT, d, g3);
            weights.WT = wT;
            weights.DXTimeMajor = scratch.Slice(3 * block + g3 * d, s.InputLength);
        }
        fixed (float* gates = saved.Gates, hidden = saved.Hidden, candidate = saved.Candidate, pdy = dY, pdx = dInput,
               pdh = dRecurrent, pm = mask, pScratch = scratch, pmh = recurrentDropout)
        {
            StepJob job = StepJob.Rent(s, packedRT, backward: true);
            job.Gates = gates; job.Hidden = hidden; job.Candidate = candidate; job.Mask = pm; job.DY = pdy;
            job.DInput = pdx; job.DRecurrent = pdh; job.RecurrentDropout = pmh; job.Scratch = pScratch + 2 * block;
            job.ReturnSequences = returnSequences;
            job.WantInitialGradient = !dInitialHidden.IsEmpty;
            job.PackTileSplit(r);
            // The steps in chunks, last to first (the chunk's dX̂ and dĤ rows about the size of L2); after each chunk its
            // rows' weight gradients and dX while they are still in cache.
            float* dhInitial = null;
            int chunk = RecurrentStepJob.ChunkSteps(n, t, 2L * g3 * sizeof(float));
            for (int to = t; to > 0; to -= chunk)
            {
                int from = Math.Max(0, to - chunk);
                dhInitial = job.RunBackward(pScratch, pScratch + block, from, to);
                weights.Accumulate(s, from, to);
            }
            if (!dInitialHidden.IsEmpty) // step 0 left dh₋₁ in dhInitial
                TensorPrimitives.Add(dInitialHidden, new ReadOnlySpan<float>(dhInitial, block), dInitialHidden);
        }
        if (!dX.IsEmpty) // dX += (dX̂·Wᵀ)⊙m_x, back to batch-major (stored when dX is new)
            RecurrentLayout.FromTimeMajor(weights.DXTimeMajor, dX, n, t, d, accumulate: !overwriteInput, s.GoBackwards, inputDropout);
    }

    /// <summary>
    /// What one chunk of steps [from, to) adds (each skipped when its span is empty): db_W += Σ rows of dX̂ and
    /// db_R += Σ rows of dĤ (each chunk's rows in order), dW += X̃ᵀ·dX̂, dR += H̃_prevᵀ·dĤ (h₋₁ = 0 adds nothing unless
    /// an initial state was given) and the chunk's rows of the time-major dX = dX̂·Wᵀ. A chunk's rows are contiguous in
    /// the time-major buffers, so each product is one GEMM over (to − from)·N rows.
    /// </summary>
    private ref struct ChunkGradients
    {
        public ReadOnlySpan<float> Input, Previous, DInput, DRecurrent, WT;
        public int FirstStep;
        public Span<float> DW, DR, DBias, DXTimeMajor;

        public readonly void Accumulate(in GruShape s, int from, int to)
        {
            int n = s.Batch, g3 = s.GateWidth, rows = (to - from) * n;
            if (!DBias.IsEmpty)
            {
                ColumnSums.AddRows(DInput.Slice(from * n * g3, rows * g3), rows, g3, DBias[..g3]);
                ColumnSums.AddRows(DRecurrent.Slice(from * n * g3, rows * g3), rows, g3, DBias.Slice(g3, g3));
            }
            RecurrentChunkProducts.Accumulate(n, s.Inputs, s.Units, g3, from, to, FirstStep, Input, Previous, DInput, DRecurrent,
                WT, DW, DR, DXTimeMajor);
        }
    }

    private static void CheckLengths(in GruShape s, int x, int w, int r, int bias, int mask, int h0)
    {
        int g3 = s.GateWidth;
        if (x != s.InputLength || w != s.Inputs * g3 || r != s.Units * g3 || bias != 2 * g3)
            throw new ArgumentException($"GRU spans do not match N={s.Batch}, T={s.Steps}, D={s.Inputs}, U={s.Units}.");
        if (mask != 0 && mask != s.Rows)
            throw new ArgumentException($"GRU mask needs N·T = {s.Rows} values, got {mask}.");
        if (h0 != 0 && h0 != s.StateLength)
            throw new ArgumentException($"GRU initial state needs N·U = {s.StateLength} values, got {h0}.");
    }

    private static void CheckDropout(in GruShape s, ReadOnlySpan<float> inputDropout, ReadOnlySpan<float> recurrentDropout, int dropped)
    {
        RecurrentLayout.CheckScale(inputDropout, s.Batch, s.Inputs, "GRU input dropout mask");
        RecurrentLayout.CheckScale(recurrentDropout, s.Batch, s.Units, "GRU recurrent dropout mask");
        if (dropped < s.DroppedHiddenLength(!recurrentDropout.IsEmpty))
            throw new ArgumentException($"GRU recurrent dropout needs a saved-h̃ buffer of T·N·U = {s.Rows * s.Units} floats, got {dropped}.");
    }

    /// <summary>One GRU time step on a band of batch rows (see <see cref="RecurrentStepJob"/>).</summary>
    private sealed class StepJob : RecurrentStepJob
    {
        [ThreadStatic] private static StepJob? t_cachedForward, t_cachedBackward;

        public GruShape Shape;
        public bool InitialState, ReturnSequences, WantInitialGradient;
        public float* Gates, Hidden, Candidate, Bias, DY, DInput, DRecurrent, DroppedHidden, RecurrentDropout, Scratch;

        public static StepJob Rent(in GruShape s, PackedMatrix recurrent, bool backward)
        {
            ref StepJob? cached = ref backward ? ref t_cachedBackward : ref t_cachedForward;
            StepJob job = cached ??= new StepJob();
            job.Prepare(s.Batch, s.Steps, s.GoBackwards, recurrent, backward);
            job.Shape = s;
            job.DroppedHidden = job.RecurrentDropout = null;
            return job;
        }

        protected override void ForwardRows(int step, int first, int end)
        {
            int n = Shape.Batch, u = Shape.Units, g3 = Shape.GateWidth, block = Shape.StateLength, rows = end - first;
            float* products = Scratch + first * g3; // ĥ for these rows (without b_R)
            if (step > 0 || InitialState) // Ĥ = h̃_{t−1}·R for these rows: the three gates in one GEMM
            {
                float* previous = Hidden + (long)step * block + first * u;
                // h̃_{t−1} = h_{t−1}⊙m_h, kept for dR: the three gates' products read it (one mask shared by the gates, as
                // Keras 3; tf.keras 2.x drew one per gate), the final mix z⊙h_{t−1} reads the undropped state (as Keras).
                if (RecurrentDropout != null)
                {
                    float* dropped = DroppedHidden + (long)step * block + first * u;
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(previous, rows * u), new ReadOnlySpan<float>(RecurrentDropout + first * u, rows * u),
                        new Span<float>(dropped, rows * u));
                    previous = dropped;
                }
                Gemm.Multiply(false, rows, g3, u, new ReadOnlySpan<float>(previous, rows * u), u, Recurrent,
                    new Span<float>(products, rows * g3), g3);
            }
            else
            {
                new Span<float>(products, rows * g3).Clear();
            }
            for (int row = first; row < end; row++)
            {
                long prev = (long)step * block + row * u, next = prev + block;
                long at = (long)step * n + row;
                if (Skipped(step, row))
                {
                    // A skipped step carries the state.
                    Buffer.MemoryCopy(Hidden + prev, Hidden + next, u * sizeof(float), u * sizeof(float));
                    new Span<float>(Gates + at * g3, g3).Clear();
                    new Span<float>(Candidate + at * u, u).Clear();
                    continue;
                }
                ForwardRow(Gates + at * g3, products + (row - first) * g3, Bias, Hidden + prev, Hidden + next, Candidate + at * u, u);
            }
        }

        /// <summary>A batch of one band splits its units when R is big enough and no recurrent dropout needs h̃ whole (U a
        /// multiple of 32): where the step's product runs a row at a time (<see cref="GemmRows"/>: a batch of one or a few
        /// sequences), or by whole row tiles against each worker's own packed gate columns.</summary>
        protected override int SplittableUnits =>
            SplittableIf(RecurrentDropout == null && (ProductRunsRowByRow || HasForwardGateColumns), Shape.Units, Shape.GateWidth);

        /// <summary>Each worker's columns of R's three gates packed on their own, for a batch of whole row tiles
        /// (<see cref="RecurrentStepJob.PackForwardGateColumns"/>); call after the recurrent dropout is set.</summary>
        public void PackForwardTileSplit(ReadOnlySpan<float> r) =>
            PackForwardGateColumns(SplittableIf(RecurrentDropout == null, Shape.Units, Shape.GateWidth), 3, r);

        /// <summary><see cref="ForwardRows"/> for units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) of every
        /// row: their columns of ĥ (the three ranges g·U + units) and their cells. The same bits as the whole row.</summary>
        protected override void ForwardUnits(int step, int worker, int firstUnit, int endUnit)
        {
            int n = Shape.Batch, u = Shape.Units, g3 = Shape.GateWidth, block = Shape.StateLength, count = endUnit - firstUnit;
            float* products = Scratch; // ĥ of every row (without b_R); each worker writes its own columns
            if ((step > 0 || InitialState) && HasForwardGateColumns) // whole row tiles, a gate at a time, against this worker's columns
            {
                for (int gate = 0; gate < 3; gate++)
                    Gemm.Multiply(false, n, count, u, new ReadOnlySpan<float>(Hidden + (long)step * block, n * u), u, ForwardGateColumns(worker, gate),
                        new Span<float>(products + gate * u + firstUnit, (n - 1) * g3 + count), g3);
            }
            else if (step > 0 || InitialState)
            {
                fixed (float* packed = Recurrent.Data)
                    for (int gate = 0; gate < 3; gate++)
                        GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, g3, gate * u + firstUnit, gate * u + endUnit, u,
                            Hidden + (long)step * block, u, null, 0, packed + Recurrent.Offset, products, g3, accumulate: false);
            }
            else
            {
                for (int row = 0; row < n; row++)
                    for (int gate = 0; gate < 3; gate++)
                        new Span<float>(products + (long)row * g3 + gate * u + firstUnit, count).Clear();
            }
            for (int row = 0; row < n; row++)
            {
                long prev = (long)step * block + row * u + firstUnit, next = prev + block;
                long at = (long)step * n + row;
                if (Skipped(step, row)) // a skipped step carries these units' state
                {
                    Buffer.MemoryCopy(Hidden + prev, Hidden + next, (long)count * sizeof(float), (long)count * sizeof(float));
                    for (int gate = 0; gate < 3; gate++)
                        new Span<float>(Gates + at * g3 + gate * u + firstUnit, count).Clear();
                    new Span<float>(Candidate + at * u + firstUnit, count).Clear();
                    continue;
                }
                ForwardRow(Gates + at * g3 + firstUnit, products + (long)row * g3 + firstUnit, Bias + firstUnit, Hidden + prev, Hidden + next,
                    Candidate + at * u + firstUnit, count, u);
            }
        }

        /// <summary>A batch of one band splits its units backward too where its product runs a row at a time (as forward)
        /// or by whole row tiles against each worker's own packed columns; with recurrent dropout as well: dh_{t−1} =
        /// (dĤ·Rᵀ)⊙m_h is per unit.</summary>
        protected override int SplittableBackwardUnits => SplittableIf(BackwardProductSplits, Shape.Units, Shape.GateWidth);

        /// <summary>Each worker's columns of the backward product's B (Rᵀ, from R) packed on their own, for a batch of whole
        /// row tiles (<see cref="RecurrentStepJob.PackUnitColumns"/>).</summary>
        public void PackTileSplit(ReadOnlySpan<float> r) =>
            PackUnitColumns(SplittableIf(true, Shape.Units, Shape.GateWidth), 0, Shape.GateWidth, r);

        protected override void BackwardRows(int step, int first, int end, float* hIn, float* hOut)
        {
            int n = Shape.Batch, u = Shape.Units, g3 = Shape.GateWidth, rows = end - first;
            for (int row = first; row < end; row++)
                BackwardCell(step, row, 0, u, hIn, hOut);
            if (step == 0 && !WantInitialGradient)
                return;
            // dh_{t−1} += dĤ_t·Rᵀ for these rows (times m_h when the step read h̃ = h⊙m_h; skipped rows have dĤ = 0)
            var products = new ReadOnlySpan<float>(DRecurrent + ((long)step * n + first) * g3, rows * g3);
            if (RecurrentDropout == null)
            {
                Gemm.Multiply(false, rows, u, g3, products, g3, Recurrent, new Span<float>(hOut + first * u, rows * u), u, accumulate: true);
                return;
            }
            Gemm.Multiply(false, rows, u, g3, products, g3, Recurrent, new Span<float>(Scratch + first * u, rows * u), u);
            AddThroughRecurrentDropout(step, first, end, 0, u, hOut);
        }

        protected override void BackwardCellUnits(int step, int firstUnit, int endUnit, float* hIn, float* hOut)
        {
            for (int row = 0; row < Shape.Batch; row++)
                BackwardCell(step, row, firstUnit, endUnit - firstUnit, hIn, hOut);
        }

        protected override void BackwardProductUnits(int step, int worker, int firstUnit, int endUnit, int firstInput, int endInput, float* hIn, float* hOut)
        {
            if (firstUnit >= endUnit || step == 0 && !WantInitialGradient)
                return;
            int n = Shape.Batch, u = Shape.Units, g3 = Shape.GateWidth;
            float* products = DRecurrent + (long)step * n * g3, target = RecurrentDropout == null ? hOut : Scratch;
            if (HasUnitColumns) // whole row tiles against this worker's own columns of Rᵀ, the same KC-slab sums
                Gemm.Multiply(false, n, endUnit - firstUnit, g3, new ReadOnlySpan<float>(products, n * g3), g3, UnitColumns(worker),
                    new Span<float>(target + firstUnit, (n - 1) * u + endUnit - firstUnit), u, accumulate: RecurrentDropout == null);
            else
                fixed (float* data = Recurrent.Data) // the same column chains as the whole product (GemmRows.MultiplyColumnRange)
                    GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, u, firstUnit, endUnit, g3, products, g3, null, 0, data + Recurrent.Offset,
                        target, u, accumulate: RecurrentDropout == null);
            if (RecurrentDropout != null)
                AddThroughRecurrentDropout(step, 0, n, firstUnit, endUnit, hOut);
        }

        /// <summary>
        /// The backward cell of <paramref name="row"/> at <paramref name="step"/> for units [<paramref name="firstUnit"/>,
        /// + <paramref name="count"/>): dX̂'s and dĤ's columns of those units in each gate and the direct part of dh_{t−1},
        /// or on a skipped step both zero and dh_t + dy passed straight to step t−1.
        /// </summary>
        private void BackwardCell(int step, int row, int firstUnit, int count, float* hIn, float* hOut)
        {
            int n = Shape.Batch, u = Shape.Units, g3 = Shape.GateWidth;
            long at = (long)step * n + row;
            float* dyRow = RecurrentLayout.OutputGradientRow(DY, ReturnSequences, row, step, Shape.Steps, u, firstUnit);
            float* dhIn = hIn + row * u + firstUnit, dhOut = hOut + row * u + firstUnit;
            if (Skipped(step, row))
            {
                // Skipped step: no gate gradient; dh passes straight to step t−1.
                for (int gate = 0; gate < 3; gate++)
                {
                    new Span<float>(DInput + at * g3 + gate * u + firstUnit, count).Clear();
                    new Span<float>(DRecurrent + at * g3 + gate * u + firstUnit, count).Clear();
                }
                for (int j = 0; j < count; j++)
                    dhOut[j] = dhIn[j] + (dyRow == null ? 0f : dyRow[j]);
                return;
            }
            BackwardRow(Gates + at * g3 + firstUnit, Hidden + (long)step * Shape.StateLength + row * u + firstUnit, Candidate + at * u + firstUnit,
                dhIn, dyRow, DInput + at * g3 + firstUnit, DRecurrent + at * g3 + firstUnit, dhOut, count, u);
        }

        /// <summary>dh_{t−1} += (dĤ·Rᵀ)⊙m_h from the product in Scratch, for rows [<paramref name="first"/>, <paramref name="end"/>)
        /// and units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) (skipped rows passed dh through).</summary>
        private void AddThroughRecurrentDropout(int step, int first, int end, int firstUnit, int endUnit, float* hOut)
        {
            int u = Shape.Units, count = endUnit - firstUnit;
            for (int row = first; row < end; row++)
                if (!Skipped(step, row))
                {
                    long at = (long)row * u + firstUnit;
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(Scratch + at, count), new ReadOnlySpan<float>(RecurrentDropout + at, count),
                        new ReadOnlySpan<float>(hOut + at, count), new Span<float>(hOut + at, count));
                }
        }
    }

    // ---- the fused point-wise passes -------------------------------------------------------------

    /// <summary>
    /// One sequence's step: x̂ (3U, the input projection without bias) becomes z, r, c in place; ĥ_h + b_Rh goes
    /// to <paramref name="candidate"/>, h_t to <paramref name="h"/>. The widest vectors first, then a scalar tail.
    /// </summary>
    private static void ForwardRow(float* gate, float* products, float* bias, float* hPrev, float* h, float* candidate, int u) =>
        ForwardRow(gate, products, bias, hPrev, h, candidate, u, u);

    /// <summary>The same for <paramref name="count"/> units of a row whose gate blocks are <paramref name="gateStride"/>
    /// (= U) floats apart, every pointer at the first unit: a range starting on a multiple of 16 units gives each unit the
    /// whole row's bits (RecurrentStepJob.UnitSplit.cs).</summary>
    private static void ForwardRow(float* gate, float* products, float* bias, float* hPrev, float* h, float* candidate, int count, int gateStride)
    {
        int j = 0, widest = Lanes;
        if (widest >= 16)
            j = ForwardLanes<Lanes512>(j, gate, products, bias, hPrev, h, candidate, count, gateStride);
        if (widest >= 8)
            j = ForwardLanes<Lanes256>(j, gate, products, bias, hPrev, h, candidate, count, gateStride);
        if (widest >= 4)
            j = ForwardLanes<Lanes128>(j, gate, products, bias, hPrev, h, candidate, count, gateStride);
        ForwardLanes<Lanes1>(j, gate, products, bias, hPrev, h, candidate, count, gateStride);
    }

    /// <summary>The forward cell formula on whole vectors of <typeparamref name="T"/> from column j; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardLanes<T>(int j, float* gate, float* products, float* bias, float* hPrev, float* h, float* candidate, int u,
        int gateStride)
        where T : struct, ILanes<T>
    {
        for (; j <= u - T.Count; j += T.Count)
        {
            nuint at = (nuint)j, r3 = (nuint)gateStride, h3 = (nuint)(2 * gateStride), g3 = (nuint)(3 * gateStride);
            // bias row 0 (b_W) at 0..3U, row 1 (b_R) at 3U..6U
            T z = Sigmoid(T.Load(ref *gate, at) + T.Load(ref *bias, at) + T.Load(ref *products, at) + T.Load(ref *bias, g3 + at));
            T r = Sigmoid(T.Load(ref *gate, r3 + at) + T.Load(ref *bias, r3 + at) + T.Load(ref *products, r3 + at) + T.Load(ref *bias, g3 + r3 + at));
            T recurrent = T.Load(ref *products, h3 + at) + T.Load(ref *bias, g3 + h3 + at);
            T c = Tanh(T.Load(ref *gate, h3 + at) + T.Load(ref *bias, h3 + at) + r * recurrent);
            T.Store(z, ref *gate, at);
            T.Store(r, ref *gate, r3 + at);
            T.Store(c, ref *gate, h3 + at);
            T.Store(recurrent, ref *candidate, at);
            T.Store(c + z * (T.Load(ref *hPrev, at) - c), ref *h, at); // z⊙h_{t−1} + (1 − z)⊙c
        }
        return j;
    }

    /// <summary>
    /// One sequence's step backward for <paramref name="count"/> units of a row whose gate blocks are
    /// <paramref name="gateStride"/> (= U) floats apart: from dh = dhIn (+ dY), writes those units' columns of dX̂ and dĤ
    /// (3U each) and the direct part of dh_{t−1}, dh⊙z (the recurrent GEMM adds the rest).
    /// </summary>
    private static void BackwardRow(float* gate, float* hPrev, float* candidate, float* dhIn, float* dy, float* dInput,
        float* dRecurrent, float* dhOut, int count, int gateStride)
    {
        int j = 0, widest = Lanes;
        if (widest >= 16)
            j = BackwardLanes<Lanes512>(j, gate, hPrev, candidate, dhIn, dy, dInput, dRecurrent, dhOut, count, gateStride);
        if (widest >= 8)
            j = BackwardLanes<Lanes256>(j, gate, hPrev, candidate, dhIn, dy, dInput, dRecurrent, dhOut, count, gateStride);
        if (widest >= 4)
            j = BackwardLanes<Lanes128>(j, gate, hPrev, candidate, dhIn, dy, dInput, dRecurrent, dhOut, count, gateStride);
        BackwardLanes<Lanes1>(j, gate, hPrev, candidate, dhIn, dy, dInput, dRecurrent, dhOut, count, gateStride);
    }

    /// <summary>The backward cell formula on whole vectors of <typeparamref name="T"/> from column j; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardLanes<T>(int j, float* gate, float* hPrev, float* candidate, float* dhIn, float* dy, float* dInput,
        float* dRecurrent, float* dhOut, int count, int gateStride) where T : struct, ILanes<T>
    {
        T one = T.Create(1f);
        for (; j <= count - T.Count; j += T.Count)
        {
            nuint at = (nuint)j, r3 = (nuint)gateStride, h3 = (nuint)(2 * gateStride);
            T dh = T.Load(ref *dhIn, at);
            if (dy != null)
                dh += T.Load(ref *dy, at);
            dh = TinyFloats.Flush(dh); // what flows back through time decays: see TinyFloats
            T z = T.Load(ref *gate, at), r = T.Load(ref *gate, r3 + at), c = T.Load(ref *gate, h3 + at);
            T dz = TinyFloats.Flush(dh * (T.Load(ref *hPrev, at) - c) * z * (one - z));
            T dc = TinyFloats.Flush(dh * (one - z) * (one - c * c));
            T dr = TinyFloats.Flush(dc * T.Load(ref *candidate, at) * r * (one - r));
            T.Store(dz, ref *dInput, at);
            T.Store(dr, ref *dInput, r3 + at);
            T.Store(dc, ref *dInput, h3 + at);
            T.Store(dz, ref *dRecurrent, at);
            T.Store(dr, ref *dRecurrent, r3 + at);
            T.Store(TinyFloats.Flush(dc * r), ref *dRecurrent, h3 + at);
            T.Store(TinyFloats.Flush(dh * z), ref *dhOut, at);
        }
        return j;
    }
}
