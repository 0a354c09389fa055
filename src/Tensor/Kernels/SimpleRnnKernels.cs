using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace NanoNet.Kernels;

using static RecurrentCellMath;

/// <summary>
/// The dimensions of one simple-RNN call and the lengths of the buffers it needs.
/// </summary>
/// <param name="Batch">N, sequences in the batch.</param>
/// <param name="Steps">T, time steps.</param>
/// <param name="Inputs">D, features per step.</param>
/// <param name="Units">U, hidden units.</param>
public readonly record struct SimpleRnnShape(int Batch, int Steps, int Inputs, int Units)
{
    /// <summary>Whether the steps are read last to first (Keras' <c>go_backwards</c>; see <see cref="LstmShape.GoBackwards"/>).</summary>
    public bool GoBackwards { get; init; }

    /// <summary>T·N: rows of the time-major matrices (row t·N + n is step t of sequence n).</summary>
    public int Rows => Steps * Batch;

    /// <summary>Length of the time-major input copy: T·N·D.</summary>
    public int InputLength => Rows * Inputs;

    /// <summary>Length of the pre-activation buffer (and of its gradient): T·N·U.</summary>
    public int ProjectionLength => Rows * Units;

    /// <summary>Length of one state block (N·U).</summary>
    public int StateLength => Batch * Units;

    /// <summary>Length of the hidden state history: (T+1)·N·U (block 0 is the initial state).</summary>
    public int HistoryLength => (Steps + 1) * Batch * Units;

    /// <summary>Length of the saved h_{t−1}⊙recurrent-dropout mask: T·N·U with recurrent dropout, else 0.</summary>
    public int DroppedHiddenLength(bool recurrentDropout) => recurrentDropout ? Rows * Units : 0;

    /// <summary>Length of the output: N·T·U with return sequences, else N·U.</summary>
    public int OutputLength(bool returnSequences) => returnSequences ? Rows * Units : Batch * Units;

    /// <summary>Scratch floats <see cref="SimpleRnnKernels.Backward"/> needs: two N·U state buffers, plus Wᵀ (U·D) and T·N·D for dX.</summary>
    public int BackwardScratchLength(bool wantInputGradient) =>
        2 * StateLength + (wantInputGradient ? Units * Inputs + InputLength : 0);

    internal void Validate()
    {
        if (Batch < 0 || Steps < 1 || Inputs < 1 || Units < 1)
            throw new ArgumentException($"SimpleRNN needs at least one step, one input feature and one unit, got N={Batch}, T={Steps}, D={Inputs}, U={Units}.");
        // Every buffer length is an int product of these: refuse a shape whose largest buffer would not fit, before one wraps.
        long largest = (long)(Steps + 1) * Batch * Math.Max(Inputs, Units);
        if (largest > int.MaxValue)
            throw new ArgumentException($"SimpleRNN with N={Batch}, T={Steps}, D={Inputs}, U={Units} needs buffers of {largest:N0} floats, more than one buffer can hold ({int.MaxValue:N0}): use fewer steps or a smaller batch per call.");
    }
}

/// <summary>
/// What the simple-RNN forward pass keeps for the backward pass (all time-major, see <see cref="SimpleRnnKernels"/>).
/// </summary>
public ref struct SimpleRnnBuffers
{
    /// <summary>x (times the input dropout mask) copied to time-major order, T·N×D.</summary>
    public Span<float> InputTimeMajor;

    /// <summary>Workspace for the pre-activations x̃_t·W + h̃_{t−1}·R, T·N×U (only the forward pass uses it).</summary>
    public Span<float> Projection;

    /// <summary>Hidden states, (T+1)·N×U: block 0 is h₋₁ (the initial state), block t+1 is h_t.</summary>
    public Span<float> Hidden;

    /// <summary>With recurrent dropout, T·N×U: block t is h_{t−1}⊙(the recurrent mask); else empty.</summary>
    public Span<float> DroppedHidden;
}

/// <summary>
/// A whole-sequence simple RNN (Keras' <c>SimpleRNN</c>) on spans: h_t = act(x_t·W + h_{t−1}·R + b), act tanh
/// (Keras' default), relu or linear; forward over all T steps and full back-propagation through time.
/// </summary>
/// <remarks>
/// <para>Shape legend: N = batch, T = time steps, D = input features, U = units; x (N, T, D) batch-major, W D×U,
/// R U×U, b U, y (N, U) or (N, T, U).</para>
/// <para>Layout as <see cref="LstmKernels"/>: one GEMM for the input projection of all steps, then each worker takes a
/// band of batch rows through every step (one parallel region per pass forward, per chunk of steps backward), adding h_{t−1}·R (R packed once) and applying the activation. The
/// activation's derivative is a function of its output (tanh′ = 1 − h², relu′ = [h &gt; 0]), so only the h
/// history is kept. Backward per step: dz = dh⊙act′(h_t), dh_{t−1} = dz·Rᵀ; the loop runs in chunks of steps
/// (<see cref="RecurrentStepJob.ChunkSteps(int, int, long)"/>), and after each chunk dW += X̃ᵀ·dZ, dR += H̃_prevᵀ·dZ and
/// dX = dZ·Wᵀ as one GEMM each over its rows while they are cached, db += the column sums of its dZ.</para>
/// <para>Masks, dropout (input and recurrent masks, one row per sequence), going backwards and determinism work as in
/// <see cref="LstmKernels"/>.</para>
/// </remarks>
public static unsafe class SimpleRnnKernels
{
    [ThreadStatic] private static PackedMatrix? t_packedR, t_packedRT;

    /// <summary>Whether the kernels implement <paramref name="activation"/> (tanh, relu, linear).</summary>
    public static bool Supports(ActivationFunction activation) =>
        activation is ActivationFunction.Tanh or ActivationFunction.Relu or ActivationFunction.Linear;

    /// <summary>Runs the RNN over the whole sequence, filling <paramref name="saved"/> and <paramref name="y"/>.</summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="activation">Tanh, Relu or Linear.</param>
    /// <param name="x">Input, (N, T, D).</param>
    /// <param name="w">Kernel W, D×U.</param>
    /// <param name="r">Recurrent kernel R, U×U.</param>
    /// <param name="bias">Bias, U.</param>
    /// <param name="mask">Empty, or N×T with 0 where a step is skipped.</param>
    /// <param name="initialHidden">Empty (zero state) or N×U.</param>
    /// <param name="y">Output: (N, T, U) with <paramref name="returnSequences"/>, else (N, U) = h_{T−1}.</param>
    /// <param name="returnSequences">Whether every step's h is returned.</param>
    /// <param name="saved">Buffers of the lengths given by <paramref name="s"/>.</param>
    /// <param name="inputDropout">Empty, or N×D: each sequence's input dropout mask (0 or 1/(1 − rate)).</param>
    /// <param name="recurrentDropout">Empty, or N×U: each sequence's recurrent dropout mask.</param>
    public static void Forward(in SimpleRnnShape s, ActivationFunction activation, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> r, ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, ReadOnlySpan<float> initialHidden, Span<float> y,
        bool returnSequences, SimpleRnnBuffers saved, ReadOnlySpan<float> inputDropout = default, ReadOnlySpan<float> recurrentDropout = default)
    {
        s.Validate();
        int n = s.Batch, t = s.Steps, d = s.Inputs, u = s.Units, block = s.StateLength;
        CheckArguments(s, activation, x.Length, w.Length, r.Length, bias.Length, mask.Length, initialHidden.Length);
        CheckDropout(s, inputDropout, recurrentDropout, saved.DroppedHidden.Length);
        if (y.Length != s.OutputLength(returnSequences))
            throw new ArgumentException($"SimpleRNN output needs {s.OutputLength(returnSequences)} floats, got {y.Length}.");
        if (n == 0)
            return;

        RecurrentLayout.ToTimeMajor(x, saved.InputTimeMajor, n, t, d, s.GoBackwards, inputDropout);
        Gemm.Multiply(false, false, s.Rows, u, d, saved.InputTimeMajor, d, w, u, saved.Projection, u);
        Span<float> h0 = saved.Hidden[..block];
        bool initialState = !initialHidden.IsEmpty;
        if (initialState)
            initialHidden.CopyTo(h0);
        else
            h0.Clear();

        PackedMatrix packedR = t_packedR = PackedMatrix.Pack(false, u, u, r, u, t_packedR);
        fixed (float* projection = saved.Projection, hidden = saved.Hidden, pb = bias, pm = mask, dropped = saved.DroppedHidden,
               pmh = recurrentDropout)
        {
            StepJob job = StepJob.Rent(s, activation, packedR, backward: false);
            job.Projection = projection; job.Hidden = hidden; job.Bias = pb; job.Mask = pm;
            job.DroppedHidden = dropped; job.RecurrentDropout = pmh; job.InitialState = initialState;
            job.PackForwardTileSplit(r);
            job.RunForward();
        }

        if (returnSequences)
            RecurrentLayout.FromTimeMajor(saved.Hidden[block..], y, n, t, u, accumulate: false);
        else
            saved.Hidden.Slice(t * block, block).CopyTo(y);
    }

    /// <summary>
    /// Back-propagation through time: accumulates dW, dR, dBias and dX (each skipped when its span is empty) from dY.
    /// No gradient flows into an initial state.
    /// </summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="activation">As in the forward call.</param>
    /// <param name="returnSequences">As in the forward call; fixes the shape of dY.</param>
    /// <param name="w">Kernel W, D×U.</param>
    /// <param name="r">Recurrent kernel R, U×U.</param>
    /// <param name="mask">As in the forward call.</param>
    /// <param name="hasInitialState">Whether the forward call started from a given state (then h₋₁ contributes to dR).</param>
    /// <param name="saved">What the forward call saved.</param>
    /// <param name="dY">Gradient of the output, same shape as y.</param>
    /// <param name="dProjection">Workspace T·N×U: receives dZ, the gradient of the pre-activations.</param>
    /// <param name="scratch">Workspace of <see cref="SimpleRnnShape.BackwardScratchLength"/> floats.</param>
    /// <param name="dX">(N, T, D) accumulated, or empty.</param>
    /// <param name="dW">D×U accumulated, or empty.</param>
    /// <param name="dR">U×U accumulated, or empty.</param>
    /// <param name="dBias">U accumulated, or empty.</param>
    /// <param name="inputDropout">As in the forward call.</param>
    /// <param name="recurrentDropout">As in the forward call.</param>
    /// <param name="dFinalHidden">Empty, or N×U: the gradient of the final state h_{T−1} returned as a state output
    /// (Keras' <c>return_state</c>); it seeds the dh arriving at the last step.</param>
    /// <param name="dInitialHidden">Empty, or N×U accumulated: the gradient of the initial state h₋₁ (Keras'
    /// <c>initial_state</c>); needs <paramref name="hasInitialState"/>.</param>
    /// <param name="overwriteInput">dX holds nothing yet (a new gradient with any contents): it is written, not added to.</param>
    public static void Backward(in SimpleRnnShape s, ActivationFunction activation, bool returnSequences, ReadOnlySpan<float> w,
        ReadOnlySpan<float> r, ReadOnlySpan<float> mask, bool hasInitialState, SimpleRnnBuffers saved, ReadOnlySpan<float> dY,
        Span<float> dProjection, Span<float> scratch, Span<float> dX, Span<float> dW, Span<float> dR, Span<float> dBias,
        ReadOnlySpan<float> inputDropout = default, ReadOnlySpan<float> recurrentDropout = default,
        ReadOnlySpan<float> dFinalHidden = default, Span<float> dInitialHidden = default, bool overwriteInput = false)
    {
        s.Validate();
        int n = s.Batch, t = s.Steps, d = s.Inputs, u = s.Units, block = s.StateLength;
        if (dY.Length != s.OutputLength(returnSequences) || dProjection.Length < s.ProjectionLength
            || scratch.Length < s.BackwardScratchLength(!dX.IsEmpty))
            throw new ArgumentException("SimpleRNN backward: a buffer has the wrong length.");
        CheckDropout(s, inputDropout, recurrentDropout, saved.DroppedHidden.Length);
        RecurrentLayout.CheckStateGradients(block, hasInitialState, dFinalHidden, default, dInitialHidden, default, "SimpleRNN");
        if (n == 0)
            return;

        RecurrentLayout.CopyOrClear(dFinalHidden, scratch[..block]); // dh arriving from "step T": zero, or the final state's gradient
        PackedMatrix packedRT = t_packedRT = PackedMatrix.Pack(true, u, u, r, u, t_packedRT);
        var weights = new ChunkGradients
        {
            Input = saved.InputTimeMajor, Previous = recurrentDropout.IsEmpty ? saved.Hidden : saved.DroppedHidden,
            FirstStep = hasInitialState ? 0 : 1, DZ = dProjection, DW = dW, DR = dR, DBias = dBias,
        };
        if (!dX.IsEmpty) // dX = dZ·Wᵀ, time-major, chunk by chunk; back to batch-major after the loop
        {
            Span<float> wT = scratch.Slice(2 * block, u * d);
            RecurrentLayout.Transpose(w, wT, d, u);
            weights.WT = wT;
            weights.DXTimeMajor = scratch.Slice(2 * block + u * d, s.InputLength);
        }
        fixed (float* hidden = saved.Hidden, pdy = dY, pdz = dProjection, pm = mask, pScratch = scratch, pmh = recurrentDropout)
        {
            StepJob job = StepJob.Rent(s, activation, packedRT, backward: true);
            job.Hidden = hidden; job.Mask = pm; job.DY = pdy; job.DZ = pdz; job.RecurrentDropout = pmh;
            job.ReturnSequences = returnSequences;
            job.WantInitialGradient = !dInitialHidden.IsEmpty;
            job.PackTileSplit(r);
            // The steps in chunks, last to first (the chunk's dZ rows about the size of L2); after each chunk its rows'
            // weight gradients and dX while they are still in cache.
            float* dhInitial = null;
            int chunk = RecurrentStepJob.ChunkSteps(n, t, (long)u * sizeof(float));
            for (int to = t; to > 0; to -= chunk)
            {
                int from = Math.Max(0, to - chunk);
                dhInitial = job.RunBackward(pScratch, pScratch + block, from, to);
                weights.Accumulate(s, from, to);
            }
            if (!dInitialHidden.IsEmpty) // step 0 left dh₋₁ in dhInitial
                TensorPrimitives.Add(dInitialHidden, new ReadOnlySpan<float>(dhInitial, block), dInitialHidden);
        }
        if (!dX.IsEmpty) // dX += (dZ·Wᵀ)⊙m_x, back to batch-major
            RecurrentLayout.FromTimeMajor(weights.DXTimeMajor, dX, n, t, d, accumulate: !overwriteInput, s.GoBackwards, inputDropout);
    }

    /// <summary>
    /// What one chunk of steps [from, to) adds (each skipped when its span is empty): db += Σ rows of dZ (each chunk's
    /// rows in order), dW += X̃ᵀ·dZ, dR += H̃_prevᵀ·dZ (h₋₁ = 0 adds nothing unless an initial state was given) and the
    /// chunk's rows of the time-major dX = dZ·Wᵀ. A chunk's rows are contiguous in the time-major buffers, so each
    /// product is one GEMM over (to − from)·N rows.
    /// </summary>
    private ref struct ChunkGradients
    {
        public ReadOnlySpan<float> Input, Previous, DZ, WT;
        public int FirstStep;
        public Span<float> DW, DR, DBias, DXTimeMajor;

        public readonly void Accumulate(in SimpleRnnShape s, int from, int to)
        {
            int n = s.Batch, u = s.Units, rows = (to - from) * n;
            if (!DBias.IsEmpty)
                ColumnSums.AddRows(DZ.Slice(from * n * u, rows * u), rows, u, DBias);
            RecurrentChunkProducts.Accumulate(n, s.Inputs, u, u, from, to, FirstStep, Input, Previous, DZ, DZ, WT, DW, DR, DXTimeMajor);
        }
    }

    private static void CheckArguments(in SimpleRnnShape s, ActivationFunction activation, int x, int w, int r, int bias, int mask, int h0)
    {
        if (!Supports(activation))
            throw new ArgumentException($"SimpleRNN supports the activations tanh, relu and linear, got {activation}.");
        if (x != s.InputLength || w != s.Inputs * s.Units || r != s.Units * s.Units || bias != s.Units)
            throw new ArgumentException($"SimpleRNN spans do not match N={s.Batch}, T={s.Steps}, D={s.Inputs}, U={s.Units}.");
        if (mask != 0 && mask != s.Rows)
            throw new ArgumentException($"SimpleRNN mask needs N·T = {s.Rows} values, got {mask}.");
        if (h0 != 0 && h0 != s.StateLength)
            throw new ArgumentException($"SimpleRNN initial state needs N·U = {s.StateLength} values, got {h0}.");
    }

    private static void CheckDropout(in SimpleRnnShape s, ReadOnlySpan<float> inputDropout, ReadOnlySpan<float> recurrentDropout, int dropped)
    {
        RecurrentLayout.CheckScale(inputDropout, s.Batch, s.Inputs, "SimpleRNN input dropout mask");
        RecurrentLayout.CheckScale(recurrentDropout, s.Batch, s.Units, "SimpleRNN recurrent dropout mask");
        if (dropped < s.DroppedHiddenLength(!recurrentDropout.IsEmpty))
            throw new ArgumentException($"SimpleRNN recurrent dropout needs a saved-h̃ buffer of T·N·U = {s.Rows * s.Units} floats, got {dropped}.");
    }

    /// <summary>One simple-RNN time step on a band of batch rows (see <see cref="RecurrentStepJob"/>).</summary>
    private sealed class StepJob : RecurrentStepJob
    {
        [ThreadStatic] private static StepJob? t_cachedForward, t_cachedBackward;

        public SimpleRnnShape Shape;
        public ActivationFunction Activation;
        public bool InitialState, ReturnSequences, WantInitialGradient;
        public float* Projection, Hidden, Bias, DY, DZ, DroppedHidden, RecurrentDropout;

        public static StepJob Rent(in SimpleRnnShape s, ActivationFunction activation, PackedMatrix recurrent, bool backward)
        {
            ref StepJob? cached = ref backward ? ref t_cachedBackward : ref t_cachedForward;
            StepJob job = cached ??= new StepJob();
            job.Prepare(s.Batch, s.Steps, s.GoBackwards, recurrent, backward);
            job.Shape = s;
            job.Activation = activation;
            job.DroppedHidden = job.RecurrentDropout = null;
            return job;
        }

        protected override void ForwardRows(int step, int first, int end)
        {
            int n = Shape.Batch, u = Shape.Units, block = Shape.StateLength, rows = end - first;
            float* z = Projection + ((long)step * n + first) * u;
            if (step > 0 || InitialState) // Z_t += h̃_{t−1}·R for these rows
            {
                float* previous = Hidden + (long)step * block + first * u;
                if (RecurrentDropout != null) // h̃_{t−1} = h_{t−1}⊙m_h, kept for dR (Keras's SimpleRNNCell: h = act(x̃·W + h̃·R + b), one mask each)
                {
                    float* dropped = DroppedHidden + (long)step * block + first * u;
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(previous, rows * u), new ReadOnlySpan<float>(RecurrentDropout + first * u, rows * u),
                        new Span<float>(dropped, rows * u));
                    previous = dropped;
                }
                Gemm.Multiply(false, rows, u, u, new ReadOnlySpan<float>(previous, rows * u), u, Recurrent,
                    new Span<float>(z, rows * u), u, accumulate: true);
            }
            for (int row = first; row < end; row++)
            {
                long prev = (long)step * block + row * u, next = prev + block;
                if (Skipped(step, row)) // a skipped step carries the state
                    Buffer.MemoryCopy(Hidden + prev, Hidden + next, u * sizeof(float), u * sizeof(float));
                else
                    ForwardRow(Activation, z + (row - first) * u, Bias, Hidden + next, u);
            }
        }

        /// <summary>A batch of one band splits its units when R is big enough and no recurrent dropout needs h̃ whole (U a
        /// multiple of 32): where the step's product runs a row at a time (<see cref="GemmRows"/>: a batch of one or a few
        /// sequences), or by whole row tiles against each worker's own packed columns.</summary>
        protected override int SplittableUnits =>
            SplittableIf(RecurrentDropout == null && (ProductRunsRowByRow || HasForwardGateColumns), Shape.Units, Shape.Units);

        /// <summary>Each worker's columns of R packed on their own, for a batch of whole row tiles
        /// (<see cref="RecurrentStepJob.PackForwardGateColumns"/>); call after the recurrent dropout is set.</summary>
        public void PackForwardTileSplit(ReadOnlySpan<float> r) =>
            PackForwardGateColumns(SplittableIf(RecurrentDropout == null, Shape.Units, Shape.Units), 1, r);

        /// <summary><see cref="ForwardRows"/> for units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) of every
        /// row: their columns of z and their activations. The same bits as the whole row.</summary>
        protected override void ForwardUnits(int step, int worker, int firstUnit, int endUnit)
        {
            int n = Shape.Batch, u = Shape.Units, block = Shape.StateLength, count = endUnit - firstUnit;
            float* z = Projection + (long)step * n * u;
            if ((step > 0 || InitialState) && HasForwardGateColumns) // whole row tiles against this worker's columns of R
                Gemm.Multiply(false, n, count, u, new ReadOnlySpan<float>(Hidden + (long)step * block, n * u), u, ForwardGateColumns(worker, 0),
                    new Span<float>(z + firstUnit, (n - 1) * u + count), u, accumulate: true);
            else if (step > 0 || InitialState)
                fixed (float* packed = Recurrent.Data)
                    GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, u, firstUnit, endUnit, u, Hidden + (long)step * block, u,
                        null, 0, packed + Recurrent.Offset, z, u, accumulate: true);
            for (int row = 0; row < n; row++)
            {
                long prev = (long)step * block + row * u + firstUnit, next = prev + block;
                if (Skipped(step, row)) // a skipped step carries these units' state
                    Buffer.MemoryCopy(Hidden + prev, Hidden + next, (long)count * sizeof(float), (long)count * sizeof(float));
                else
                    ForwardRow(Activation, z + (long)row * u + firstUnit, Bias + firstUnit, Hidden + next, count);
            }
        }

        /// <summary>A batch of one band splits its units backward too where its product runs a row at a time (as forward)
        /// or by whole row tiles against each worker's own packed columns; with recurrent dropout as well: dh_{t−1} =
        /// (dZ·Rᵀ)⊙m_h is per unit.</summary>
        protected override int SplittableBackwardUnits => SplittableIf(BackwardProductSplits, Shape.Units, Shape.Units);

        /// <summary>Each worker's columns of the backward product's B (Rᵀ, from R) packed on their own, for a batch of whole
        /// row tiles (<see cref="RecurrentStepJob.PackUnitColumns"/>).</summary>
        public void PackTileSplit(ReadOnlySpan<float> r) =>
            PackUnitColumns(SplittableIf(true, Shape.Units, Shape.Units), 0, Shape.Units, r);

        protected override void BackwardRows(int step, int first, int end, float* hIn, float* hOut)
        {
            int n = Shape.Batch, u = Shape.Units, rows = end - first;
            for (int row = first; row < end; row++)
                BackwardCell(step, row, 0, u, hIn);
            // dh_{t−1} = dZ_t·Rᵀ (times m_h when the step read h̃); a skipped row's dZ is 0, and it passes dh through.
            bool wantPrevious = step > 0 || WantInitialGradient; // at step 0, dh₋₁ is wanted only for an initial state
            if (wantPrevious)
                Gemm.Multiply(false, rows, u, u, new ReadOnlySpan<float>(DZ + ((long)step * n + first) * u, rows * u), u, Recurrent,
                    new Span<float>(hOut + first * u, rows * u), u);
            for (int row = first; row < end; row++)
                AfterTheProduct(step, row, 0, u, hIn, hOut, wantPrevious);
        }

        protected override void BackwardCellUnits(int step, int firstUnit, int endUnit, float* hIn, float* hOut)
        {
            for (int row = 0; row < Shape.Batch; row++)
                BackwardCell(step, row, firstUnit, endUnit - firstUnit, hIn);
        }

        protected override void BackwardProductUnits(int step, int worker, int firstUnit, int endUnit, int firstInput, int endInput, float* hIn, float* hOut)
        {
            if (firstUnit >= endUnit)
                return;
            int n = Shape.Batch, u = Shape.Units, count = endUnit - firstUnit;
            bool wantPrevious = step > 0 || WantInitialGradient;
            if (wantPrevious && HasUnitColumns) // whole row tiles against this worker's own columns of Rᵀ, the same KC-slab sums
                Gemm.Multiply(false, n, count, u, new ReadOnlySpan<float>(DZ + (long)step * n * u, n * u), u, UnitColumns(worker),
                    new Span<float>(hOut + firstUnit, (n - 1) * u + count), u);
            else if (wantPrevious) // the same column chains as the whole product (GemmRows.MultiplyColumnRange)
                fixed (float* data = Recurrent.Data)
                    GemmRows.MultiplyColumnRange(Gemm.BestKernel, false, n, u, firstUnit, endUnit, u, DZ + (long)step * n * u, u, null, 0,
                        data + Recurrent.Offset, hOut, u, accumulate: false);
            // (dh_t of these units is still whole in hIn: the next step's product, which writes over it, waits at its barrier.)
            for (int row = 0; row < n; row++)
                AfterTheProduct(step, row, firstUnit, count, hIn, hOut, wantPrevious);
        }

        /// <summary>dz = (dh_t + dy)⊙act′ of <paramref name="row"/> at <paramref name="step"/> for units
        /// [<paramref name="firstUnit"/>, + <paramref name="count"/>); zero on a skipped step (dh passes through after the product).</summary>
        private void BackwardCell(int step, int row, int firstUnit, int count, float* hIn)
        {
            int n = Shape.Batch, u = Shape.Units;
            float* dzRow = DZ + ((long)step * n + row) * u + firstUnit;
            if (Skipped(step, row))
            {
                new Span<float>(dzRow, count).Clear(); // no gradient into the step; dh passes through (AfterTheProduct)
                return;
            }
            BackwardRow(Activation, Hidden + (long)(step + 1) * Shape.StateLength + row * u + firstUnit, hIn + row * u + firstUnit,
                RecurrentLayout.OutputGradientRow(DY, ReturnSequences, row, step, Shape.Steps, u, firstUnit), dzRow, count);
        }

        /// <summary>After the product, units [<paramref name="firstUnit"/>, + <paramref name="count"/>) of
        /// <paramref name="row"/>'s dh_{t−1}: a skipped step's dh_t + dy passed through, else times m_h with recurrent dropout.</summary>
        private void AfterTheProduct(int step, int row, int firstUnit, int count, float* hIn, float* hOut, bool wantPrevious)
        {
            int u = Shape.Units;
            var dhRow = new Span<float>(hOut + row * u + firstUnit, count);
            if (Skipped(step, row))
            {
                float* dyRow = RecurrentLayout.OutputGradientRow(DY, ReturnSequences, row, step, Shape.Steps, u, firstUnit);
                new ReadOnlySpan<float>(hIn + row * u + firstUnit, count).CopyTo(dhRow);
                if (dyRow != null)
                    TensorPrimitives.Add(dhRow, new ReadOnlySpan<float>(dyRow, count), dhRow);
            }
            else if (RecurrentDropout != null && wantPrevious)
                TensorPrimitives.Multiply(dhRow, new ReadOnlySpan<float>(RecurrentDropout + row * u + firstUnit, count), dhRow);
        }
    }

    // ---- the fused point-wise passes -------------------------------------------------------------

    /// <summary>h = act(z + b) for one sequence's step.</summary>
    private static void ForwardRow(ActivationFunction activation, float* z, float* bias, float* h, int u)
    {
        int j = 0, widest = Lanes;
        if (widest >= 16)
            j = ForwardLanes<Lanes512>(activation, j, z, bias, h, u);
        if (widest >= 8)
            j = ForwardLanes<Lanes256>(activation, j, z, bias, h, u);
        if (widest >= 4)
            j = ForwardLanes<Lanes128>(activation, j, z, bias, h, u);
        ForwardLanes<Lanes1>(activation, j, z, bias, h, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ForwardLanes<T>(ActivationFunction activation, int j, float* z, float* bias, float* h, int u)
        where T : struct, ILanes<T>
    {
        for (; j <= u - T.Count; j += T.Count)
        {
            T pre = T.Load(ref *z, (nuint)j) + T.Load(ref *bias, (nuint)j);
            T value = activation switch
            {
                ActivationFunction.Tanh => Tanh(pre),
                ActivationFunction.Relu => T.Max(pre, T.Create(0f)),
                _ => pre,
            };
            T.Store(value, ref *h, (nuint)j);
        }
        return j;
    }

    /// <summary>dz = (dhIn + dY)⊙act′, act′ from the step's output h (tanh: 1 − h²; relu: 1 where h &gt; 0; linear: 1).</summary>
    private static void BackwardRow(ActivationFunction activation, float* h, float* dhIn, float* dy, float* dz, int u)
    {
        int j = 0, widest = Lanes;
        if (widest >= 16)
            j = BackwardLanes<Lanes512>(activation, j, h, dhIn, dy, dz, u);
        if (widest >= 8)
            j = BackwardLanes<Lanes256>(activation, j, h, dhIn, dy, dz, u);
        if (widest >= 4)
            j = BackwardLanes<Lanes128>(activation, j, h, dhIn, dy, dz, u);
        BackwardLanes<Lanes1>(activation, j, h, dhIn, dy, dz, u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BackwardLanes<T>(ActivationFunction activation, int j, float* h, float* dhIn, float* dy, float* dz, int u)
        where T : struct, ILanes<T>
    {
        for (; j <= u - T.Count; j += T.Count)
        {
            nuint at = (nuint)j;
            T dh = T.Load(ref *dhIn, at);
            if (dy != null)
                dh += T.Load(ref *dy, at);
            T value = T.Load(ref *h, at);
            T derivative = activation switch
            {
                ActivationFunction.Tanh => T.Create(1f) - value * value,
                ActivationFunction.Relu => T.Sign(value), // h ≥ 0: 1 where h > 0, else 0
                _ => T.Create(1f),
            };
            T.Store(TinyFloats.Flush(TinyFloats.Flush(dh) * derivative), ref *dz, at); // what flows back decays: see TinyFloats
        }
        return j;
    }
}
