using NanoNet.Memory;
using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// 2-D convolution over a batch of NHWC images, lowered to GEMM through <see cref="Im2Col"/>, with the
/// bias folded into the GEMM and an optional fused ReLU.
/// </summary>
/// <remarks>
/// <para>Shape legend: x is N×H×W×C; the kernel w is (KH, KW, C, F) = a P×F matrix with
/// P = KH·KW·C; col is the im2col matrix of one chunk of images, rows × (P+1): the patches plus a
/// column of ones; y and dY are N×OH×OW×F = (N·OH·OW)×F.</para>
/// <para>Forward: y = act(col·[w; b]). Backward: dZ = dY ⊙ act'(y); [dW; db] = colᵀ·dZ (one GEMM gives
/// both, thanks to the ones column; with F a multiple of 32 on AVX-512 it is summed in registers by
/// <see cref="ConvWeightGradient"/> instead); dcol = dZ·wᵀ; dX = col2im(dcol) (with C a multiple of 32 on AVX-512, one
/// pass: <see cref="DirectConvInputGradient"/> adds each register tile of dcol onto its pixels).</para>
/// <para>Why NHWC: channels innermost make each im2col run contiguous, make col·w land directly in the
/// NHWC output (no transpose, no layout change before Dense), and let pooling vectorise over channels.</para>
/// <para>Memory: col is never materialised for the whole batch. Each worker builds one chunk's col in a
/// private buffer that stays in its L2 cache, multiplies, and moves on; backward rebuilds it from x
/// (re-reading the small input is cheaper than writing and re-reading a batch-sized col).</para>
/// <para>Parallelism and determinism: the batch is cut into chunks of a fixed number of images that
/// depends only on the shapes, never on the thread count; workers take whole chunks, so the im2col
/// rows, the output rows and the ReLU all stay in cache. [dW; db] is summed per chunk into private
/// partials, added in chunk order afterwards, so every sum has the same order at any thread count.</para>
/// </remarks>
public static unsafe class Conv2DKernels
{
    /// <summary>At most this many im2col rows per chunk: enough GEMM work per task, small enough to balance.</summary>
    private const int MaxRowsPerChunk = 2048;

    /// <summary>Images per parallel chunk for this geometry on this machine (independent of the thread count).</summary>
    public static int ImagesPerChunk(in ConvGeometry g) => ImagesPerChunk(g, CpuCaches.OfThisMachine.L2);

    /// <summary>
    /// Images per chunk on a core with <paramref name="l2"/> bytes of L2: as many whole images as keep the chunk's im2col
    /// matrix (rows × (P+1) floats) within 3/8 of L2, so that the GEMM reads back from L2 what <see cref="Im2Col"/> just
    /// wrote, with room for the weights and the chunk's output; at most <see cref="MaxRowsPerChunk"/> rows, at least one
    /// image. A 2048-row chunk of the Keras 32→32 layer (P = 288) was a 2 MB matrix, its 64→64 layer's 4.7 MB: measured on
    /// Emerald Rapids (2 MB L2), the chunks that fit ran those layers' forward 10–35% and weight gradient up to 2x faster
    /// (benchmarks/README.md, tenth sitting). Short patches (a 3-channel stem) still take 2048 rows.
    /// </summary>
    internal static int ImagesPerChunk(in ConvGeometry g, long l2)
    {
        long rowBytes = (g.PatchSize + 1L) * sizeof(float);
        long rows = Math.Min(MaxRowsPerChunk, l2 * 3 / 8 / rowBytes);
        return (int)Math.Max(1, rows / Math.Max(1, g.OutputPixels));
    }

    /// <summary>
    /// y = act(im2col(x)·w + b) for a batch; with <paramref name="reluBits"/> (a training stem the ReLU is fused into, where
    /// <see cref="KeepsReluBits"/> holds: <see cref="ReluBits.Length"/> ints), also the ReLU's derivative as bits, which
    /// <see cref="Backward"/> then reads instead of y.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        Span<float> y, int batch, int filters, in ConvGeometry g, bool relu, Span<int> reluBits = default)
    {
        if (!reluBits.IsEmpty && !(relu && KeepsReluBits(g, filters) && reluBits.Length >= ReluBits.Length((long)batch * g.OutputPixels, filters)))
            throw new ArgumentException($"Conv2D: ReLU bits are kept only by a ReLU convolution that KeepsReluBits, "
                + $"{ReluBits.Length((long)batch * g.OutputPixels, filters)} ints for this batch; got {reluBits.Length} (relu {relu}).", nameof(reluBits));
        var job = ConvJob.Rent(g, batch, filters);
        // [w; b]: the kernel with the bias appended as one more row, matching the ones column of col.
        Span<float> weightsWithBias = job.WeightsWithBias((g.PatchSize + 1) * filters);
        w.CopyTo(weightsWithBias);
        bias.CopyTo(weightsWithBias.Slice(g.PatchSize * filters, filters));
        fixed (float* px = x, pwb = weightsWithBias, py = y)
        fixed (int* pbits = reluBits)
        {
            job.Mode = ConvJob.Pass.Forward;
            job.Relu = relu;
            (job.X, job.W, job.Y, job.ReluBits) = ((nint)px, (nint)pwb, (nint)py, (nint)pbits);
            RunForward(job, pwb);
        }
    }

    /// <summary>Off only in benchmarks (<c>NANONET_RELU_BITS</c>): the AVX2 stems' backward reads y, as before they kept bits.</summary>
    internal static bool ReluBitsOnAvx2 = true;

    /// <summary>
    /// Whether the forward can keep a fused ReLU's derivative as bits (<see cref="ReluBits"/>) for the backward to read
    /// instead of y: the direct forward (not Winograd) of a 3×3 RGB stem (<see cref="DirectConvWeightGradient.FusesGradient"/>),
    /// on AVX-512 (whose weight gradient makes dZ in registers from them) or on AVX2 with F a multiple of 32 (dZ made from
    /// them in place, <see cref="ReluBits.MaskInPlace"/>). Worth it only when that backward will take no dX.
    /// </summary>
    public static bool KeepsReluBits(in ConvGeometry g, int filters) =>
        (DirectConv.Applies(g, filters) || (ReluBitsOnAvx2 && DirectConvForward256.Applies(g, filters) && filters % 32 == 0))
        && !WinogradConv.Applies(g, filters) && DirectConvWeightGradient.FusesGradient(g);

    /// <summary>
    /// The argmax <see cref="ForwardMaxPool"/> records, with the ReLU, for a window whose maximum is not &gt; 0: the ReLU's
    /// derivative is zero at the winner, so no gradient flows through the window. It matches no position, so the backward
    /// needs neither the pooled output nor a mask to skip it (before, it read the pooled y for [y &gt; 0]: the same test on
    /// the same value, made once in the forward instead).
    /// </summary>
    public const int ZeroedWindow = -1;

    /// <summary>
    /// y = maxpool(act(im2col(x)·w + b)) for a batch: each chunk's convolution output stays in the worker's
    /// private buffer (in its L2 cache) and only the pooled maxima are written, so the full convolution output
    /// (N·OH·OW·F floats: 29 MB for 256 CIFAR-10 images) never goes to memory. Every value is the one the
    /// separate Conv2D and MaxPool2D kernels give, bit for bit: the same chunk GEMM, the same ReLU, and
    /// <see cref="MaxPoolKernels.ForwardImage"/> per image. For training, <paramref name="argmax"/> receives each
    /// maximum's position inside its image's convolution output (oh·OW·F + ow·F + f; not offset by the image), or, with
    /// the ReLU, <see cref="ZeroedWindow"/> where the maximum is not &gt; 0 (0 or NaN): that is all
    /// <see cref="BackwardMaxPool"/> needs. At inference it is empty and no index is computed.
    /// </summary>
    /// <remarks>The pooling geometry <paramref name="pool"/> is over the convolution's output image (OH×OW×F).</remarks>
    public static void ForwardMaxPool(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        Span<float> y, Span<int> argmax, int batch, int filters, in ConvGeometry g, bool relu, in ConvGeometry pool)
    {
        if (pool.Height != g.OutputHeight || pool.Width != g.OutputWidth || pool.Channels != filters)
            throw new ArgumentException("Conv2D + MaxPool2D: the pooling geometry must be over the convolution's output.");
        if (!argmax.IsEmpty && argmax.Length < y.Length)
            throw new ArgumentException("Conv2D + MaxPool2D: argmax must hold one index per pooled output.");
        var job = ConvJob.Rent(g, batch, filters);
        Span<float> weightsWithBias = job.WeightsWithBias((g.PatchSize + 1) * filters);
        w.CopyTo(weightsWithBias);
        bias.CopyTo(weightsWithBias.Slice(g.PatchSize * filters, filters));
        fixed (float* px = x, pwb = weightsWithBias, py = y)
        fixed (int* pa = argmax)
        {
            job.Mode = ConvJob.Pass.ForwardPooled;
            job.Relu = relu;
            job.Pool = pool;
            (job.X, job.W, job.Y, job.ArgMax) = ((nint)px, (nint)pwb, (nint)py, (nint)pa);
            RunForward(job, pwb);
        }
    }

    /// <summary>A forward pass's chunks; with the Winograd kernel, the kernel transformed once for all of them first.</summary>
    private static void RunForward(ConvJob job, float* weightsWithBias)
    {
        if (job.UsesWinograd)
        {
            bool pooled = job.Mode == ConvJob.Pass.ForwardPooled;
            job.WinogradTile = WinogradConv.ChooseTile(job.G, pooled);
            job.ImagesPerChunk = WinogradConv.ImagesPerChunk(job.G, pooled, job.WinogradTile, job.ImagesPerChunk, job.Batch);
            job.Chunks = (job.Batch + job.ImagesPerChunk - 1) / job.ImagesPerChunk;
            Span<float> transformed = job.WinogradFilters(WinogradConv.TransformedLength(job.G, job.Filters, job.WinogradTile));
            fixed (float* u = transformed)
            {
                WinogradConv.TransformFilters(weightsWithBias, job.G.Channels, job.Filters, u, job.WinogradTile);
                job.TransformedW = (nint)u;
                job.RunChunks();
            }
            return;
        }
        job.RunChunks();
    }

    /// <summary>
    /// The backward of <see cref="ForwardMaxPool"/> (trained with indices): given the pooled output's indices and
    /// its gradient dY, accumulates dW, dBias and dX (each when non-empty) exactly as MaxPoolKernels.Backward, then
    /// <see cref="Backward"/>, would, bit for bit, without the convolution's output or its gradient ever existing
    /// for the whole batch.
    /// </summary>
    /// <remarks>
    /// Per chunk, the convolution's output gradient is rebuilt in the worker's private buffer: zero, then each pooled
    /// gradient added at its window's winner, in the pooling backward's order. The ReLU's derivative is already in
    /// argmax (<see cref="ZeroedWindow"/>): a position receives gradient only from windows it won, whose maximum is its
    /// own value, so [conv output &gt; 0] there is [pooled maximum &gt; 0], and a masked window adds nothing (the separate
    /// passes add and then zero: the same result). The chunk then runs the ordinary weight and input gradients.
    /// <paramref name="overwriteInput"/> as in <see cref="Backward"/>.
    /// </remarks>
    public static void BackwardMaxPool(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<int> argmax,
        ReadOnlySpan<float> dY, Span<float> dW, Span<float> dBias, Span<float> dX, int batch, int filters, in ConvGeometry g,
        in ConvGeometry pool, bool overwriteInput = false)
    {
        if (argmax.Length < batch * pool.OutputPixels * filters || dY.Length < batch * pool.OutputPixels * filters)
            throw new ArgumentException("Conv2D + MaxPool2D backward: argmax and dY must match the pooled output.");
        var job = ConvJob.Rent(g, batch, filters);
        job.Pool = pool;
        RunBackward(job, x, w, default, dY, dW, dBias, dX, batch, filters, g, relu: false, argmax, overwriteInput, default);
    }

    /// <summary>
    /// Given dY (overwritten with dY ⊙ act'(y) when <paramref name="relu"/> is set, unless the direct stem kernel masks it
    /// in registers: its contents afterwards are unspecified), and <paramref name="reluBits"/> when the forward kept them
    /// (then the stem kernel reads them instead of y), accumulates
    /// dW += colᵀ·dZ and dBias += Σ dZ (when those spans are non-empty) and dX += col2im(dZ·wᵀ) (when
    /// <paramref name="dX"/> is non-empty). With <paramref name="overwriteInput"/>, dX holds nothing yet (a new gradient
    /// with any contents): dX = col2im(dZ·wᵀ), each chunk clearing its own images' dX just before adding to them, so the
    /// clear and the additions meet in cache instead of the whole dX being cleared first and read back from memory.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> y, Span<float> dY,
        Span<float> dW, Span<float> dBias, Span<float> dX, int batch, int filters, in ConvGeometry g, bool relu, bool overwriteInput = false,
        ReadOnlySpan<int> reluBits = default)
    {
        if (!reluBits.IsEmpty && !(relu && reluBits.Length >= ReluBits.Length((long)batch * g.OutputPixels, filters)))
            throw new ArgumentException($"Conv2D backward: ReLU bits need the ReLU and {ReluBits.Length((long)batch * g.OutputPixels, filters)} ints "
                + $"for this batch; got {reluBits.Length} (relu {relu}).", nameof(reluBits));
        RunBackward(ConvJob.Rent(g, batch, filters), x, w, y, dY, dW, dBias, dX, batch, filters, g, relu, default, overwriteInput, reluBits);
    }

    /// <summary>The backward pass, plain (empty <paramref name="argmax"/>: dY is the convolution's) or through the pooling.</summary>
    private static void RunBackward(ConvJob job, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> y, ReadOnlySpan<float> dY,
        Span<float> dW, Span<float> dBias, Span<float> dX, int batch, int filters, in ConvGeometry g, bool relu, ReadOnlySpan<int> argmax,
        bool overwriteInput, ReadOnlySpan<int> reluBits)
    {
        int patch = g.PatchSize;
        bool parameters = !dW.IsEmpty || !dBias.IsEmpty;
        float[] partials = job.Partials(parameters ? (patch + 1) * filters : 0);
        bool winogradInput = !dX.IsEmpty && job.WinogradInput;
        bool directInput = !dX.IsEmpty && job.DirectInput && !winogradInput;
        ConvGeometry inputGradient = winogradInput ? WinogradConv.InputGradientGeometry(g, filters) : default;
        int inputTile = winogradInput ? WinogradConv.ChooseTile(inputGradient, pooled: false) : 0;
        Span<float> panels = directInput ? job.InputGradientPanels(patch * filters)
            : winogradInput ? job.InputGradientPanels(patch * filters + WinogradConv.TransformedLength(inputGradient, g.Channels, inputTile))
            : [];
        fixed (float* px = x, pw = w, py = y, pdy = dY, pdx = dX, ppart = partials, ppanels = panels)
        fixed (int* pa = argmax, pbits = reluBits)
        {
            if (directInput) // wᵀ packed once for every chunk's fused dZ·wᵀ + col2im
                DirectConvInputGradient.PackPanels(pw, patch, filters, ppanels);
            if (winogradInput) // w turned and transposed (w′), then Winograd-transformed, once for every chunk's dZ ∗ w′
            {
                WinogradConv.RotateAndTransformFilters(pw, g.Channels, filters, ppanels, ppanels + patch * filters, inputTile);
            }
            job.InputPanels = (nint)(winogradInput ? ppanels + patch * filters : ppanels);
            job.InputByWinograd = winogradInput;
            (job.InputGradient, job.InputTile) = (inputGradient, inputTile);
            job.Mode = argmax.IsEmpty ? ConvJob.Pass.Backward : ConvJob.Pass.BackwardPooled;
            job.Relu = relu;
            (job.X, job.W, job.Y, job.DY, job.DX, job.PartialSums, job.ArgMax) = ((nint)px, (nint)pw, (nint)py, (nint)pdy, (nint)pdx, (nint)ppart, (nint)pa);
            job.ReluBits = (nint)pbits;
            (job.WantParameters, job.WantInput, job.OverwriteInput) = (parameters, !dX.IsEmpty, overwriteInput);
            job.RunChunks();
        }
        if (!parameters || job.Chunks == 0) // an empty batch adds nothing
            return;
        // Reduce the per-chunk partial sums in chunk order: deterministic at any thread count. Each element is summed over
        // the chunks in order, the elements split between the workers (the Keras cifar10_cnn's 64 → 64 layer: 32 chunks of
        // 36,928 values, 0.3 ms a step on one thread chunk by chunk).
        int stride = job.PartialStride, chunks = job.Chunks;
        if (!dW.IsEmpty)
            ColumnSums.AddRows(partials.AsSpan(0, (chunks - 1) * stride + patch * filters), chunks, patch * filters, stride, dW);
        if (!dBias.IsEmpty)
            ColumnSums.AddRows(partials.AsSpan(patch * filters, (chunks - 1) * stride + filters), chunks, filters, stride, dBias);
    }

    /// <summary>One convolution pass's arguments and its chunk loop (pointers are pinned by the caller).</summary>
    private sealed class ConvJob : ParallelJob
    {
        public enum Pass { Forward, ForwardPooled, Backward, BackwardPooled }

        [ThreadStatic] private static ConvJob? t_cached;
        private float[] _partials = [], _weightsWithBias = [], _inputGradientPanels = [], _winogradFilters = [];
        /// <summary>Hands out the chunks, each worker's own contiguous part of the batch first (<see cref="HomeRanges"/>).</summary>
        private readonly HomeRanges _chunks = new();

        public Pass Mode;
        public ConvGeometry G, Pool;
        public int Batch, Filters, Chunks, ImagesPerChunk, PartialStride;
        public nint X, W, Y, DY, DX, PartialSums, ArgMax, InputPanels, TransformedW;
        /// <summary>The ReLU's bits (<see cref="NanoNet.Kernels.ReluBits"/>): written by a direct forward, read by the stem's weight gradient; 0 when not kept.</summary>
        public nint ReluBits;
        public bool Relu, WantParameters, WantInput;
        /// <summary>dX holds nothing yet: each chunk clears its images' dX before adding its col2im to it.</summary>
        public bool OverwriteInput;
        /// <summary>Whether the direct kernels (<see cref="DirectConv"/>) take this convolution instead of im2col + GEMM.</summary>
        public bool Direct;
        /// <summary>Whether the forward (not the backward) runs the AVX2 direct kernel (<see cref="DirectConvForward256"/>)
        /// instead of im2col + GEMM: never with <see cref="Direct"/>.</summary>
        public bool DirectForward256;
        /// <summary>Whether the weight gradient runs the AVX2 direct tiles (<see cref="DirectConvWeightGradient.Applies256"/>)
        /// instead of im2col + tiles: never with <see cref="Direct"/>.</summary>
        public bool DirectWeights256;
        /// <summary>Whether the input gradient runs col2im in the product's epilogue (<see cref="DirectConvInputGradient"/>).</summary>
        public bool DirectInput;
        /// <summary>Whether the forward can take the Winograd kernel (<see cref="WinogradConv"/>).</summary>
        public bool Winograd;
        /// <summary>Whether the input gradient can run as a Winograd forward over dZ (<see cref="WinogradConv.InputGradientApplies"/>).</summary>
        public bool WinogradInput;
        /// <summary>Whether the weight gradient runs by Winograd's F(3×3, 4×4) (<see cref="WinogradWeightGradient"/>).</summary>
        public bool WinogradWeights;
        /// <summary>This backward pass's input gradient runs as a Winograd forward (InputPanels then holds the transformed w′).</summary>
        public bool InputByWinograd;
        /// <summary>With <see cref="InputByWinograd"/>: the convolution dZ ∗ w′ that gives dX (<see cref="WinogradConv.InputGradientGeometry"/>).</summary>
        public ConvGeometry InputGradient;
        /// <summary>The Winograd tile size m of this forward pass (<see cref="WinogradConv.ChooseTile"/>), and of the input gradient's.</summary>
        public int WinogradTile, InputTile;

        /// <summary>Whether this pooled forward runs the AVX2 direct kernel, pooling each window in registers (a stem) or each
        /// pair of output rows from a 2·OW·F buffer (<see cref="DirectConvForward256.ForwardMaxPool"/>): at most that buffer.</summary>
        private bool PoolsInDirectForward256 => Mode == Pass.ForwardPooled && DirectForward256 && DirectConvForward.PoolApplies(Pool);

        /// <summary>Whether this pass runs the Winograd forward: plain, or pooled by 2×2 windows (each a tile's outputs).</summary>
        public bool UsesWinograd => Winograd && (Mode == Pass.Forward || (Mode == Pass.ForwardPooled && DirectConvForward.PoolApplies(Pool)));

        public static ConvJob Rent(in ConvGeometry g, int batch, int filters)
        {
            ConvJob job = t_cached ??= new ConvJob();
            job.G = g;
            job.Batch = batch;
            job.Filters = filters;
            job.ImagesPerChunk = Conv2DKernels.ImagesPerChunk(g);
            job.Direct = DirectConv.Applies(g, filters);
            job.DirectForward256 = !job.Direct && DirectConvForward256.Applies(g, filters);
            job.DirectWeights256 = !job.Direct && DirectConvWeightGradient.Applies256(g, filters);
            job.DirectInput = DirectConvInputGradient.Applies(g, filters);
            job.Winograd = WinogradConv.Applies(g, filters);
            job.WinogradInput = WinogradConv.InputGradientApplies(g, filters);
            job.WinogradWeights = WinogradWeightGradient.Applies(g, filters);
            job.InputByWinograd = false;
            job.ReluBits = 0;
            job.Chunks = (batch + job.ImagesPerChunk - 1) / job.ImagesPerChunk;
            return job;
        }

        public float[] Partials(int lengthPerChunk)
        {
            PartialStride = lengthPerChunk;
            int needed = PartialStride * Chunks;
            if (_partials.Length < needed)
                _partials = new float[needed];
            return _partials;
        }

        /// <summary>
        /// A buffer of at least <paramref name="length"/> floats for [w; b]. It only grows: the job is shared by
        /// every convolution on the thread, so a model with convolutions of different sizes would otherwise
        /// reallocate it at each of them, every step (the Keras cifar10_cnn model: 264 KB per training step).
        /// </summary>
        public Span<float> WeightsWithBias(int length) => Aligned(ref _weightsWithBias, length);

        /// <summary>A buffer of <paramref name="length"/> floats for the Winograd-transformed kernel; only grows, as above.</summary>
        public Span<float> WinogradFilters(int length) => Aligned(ref _winogradFilters, length);

        /// <summary>A buffer of <paramref name="length"/> floats for the packed wᵀ panels; only grows, as above.</summary>
        public Span<float> InputGradientPanels(int length) => Aligned(ref _inputGradientPanels, length);

        /// <summary>
        /// <paramref name="length"/> floats of <paramref name="buffer"/> from its first cache line (the kernels read these
        /// weights 64 bytes at a time: <see cref="CacheLineAlignment"/>), growing it when short. Pinned, so the start
        /// stays where it is.
        /// </summary>
        private static Span<float> Aligned(ref float[] buffer, int length)
        {
            buffer = CacheLineAlignment.Pinned(buffer, length);
            return buffer.AsSpan(CacheLineAlignment.Offset(buffer), length);
        }

        /// <summary>Runs the job's chunks on the worker pool.</summary>
        public void RunChunks()
        {
            _chunks.Reset(Chunks, Parallelism.WorkersFor(Chunks));
            Parallelism.Run(this, Chunks);
        }

        public override void RunWorker(int worker, int workerCount)
        {
            if (UsesWinograd)
            {
                RunWinograd(worker);
                return;
            }
            // The worker's private chunk buffers come from the shared scratch buffers (bounded, trimmable),
            // rented once for all the chunks it takes.
            int generation = ScratchBuffers.Generation, rows = ImagesPerChunk * G.OutputPixels;
            bool backward = Mode is Pass.Backward or Pass.BackwardPooled;
            // The Winograd weight gradient reads the images in 6×6 blocks in place and works in its own workspace.
            bool weightsByWinograd = backward && WantParameters && WinogradWeights;
            bool readsPatches = !backward || (WantParameters && !weightsByWinograd), needsInputGradient = backward && WantInput;
            // The direct kernels read the patches in place (from a zero-bordered copy of the chunk's images for 'same').
            bool direct = Direct || (backward ? DirectWeights256 : DirectForward256);
            bool needsColumns = readsPatches && !direct, needsPadded = readsPatches && direct && DirectConv.NeedsPadding(G);
            // The pooled passes keep the chunk's convolution output (forward) or its gradient (backward) here, except
            // the direct forward with a 2×2 pooling, which pools in registers.
            bool pooled = (Mode == Pass.BackwardPooled && !GradientInTheTile) || (Mode == Pass.ForwardPooled && !(Direct && DirectConvForward.PoolApplies(Pool)));
            float[] col = needsColumns ? ScratchBuffers.Rent(rows * (G.PatchSize + 1)) : [];
            float[] padded = needsPadded ? ScratchBuffers.Rent(ImagesPerChunk * DirectConv.PaddedImageSize(G)) : [];
            float[] weightWorkspace = weightsByWinograd ? ScratchBuffers.Rent(WinogradWeightGradient.WorkspaceLength(G, Filters)) : [];
            // The fused kernel keeps dcol in registers; the Winograd one reads dZ in place and works in a block workspace.
            bool winogradInput = needsInputGradient && InputByWinograd;
            needsInputGradient &= !DirectInput && !InputByWinograd;
            float[] dCol = needsInputGradient ? ScratchBuffers.Rent(InputGradientPixels * G.PatchSize) : [];
            // The AVX2 direct forward with a 2×2 pooling keeps at most a pair of convolution rows (PoolsInDirectForward256).
            float[] convolved = pooled ? ScratchBuffers.Rent(PoolsInDirectForward256 ? 2 * G.OutputWidth * Filters : rows * Filters) : [];
            float[] workspace = winogradInput ? ScratchBuffers.Rent(WinogradConv.WorkspaceLength(InputGradient, InputTile)) : [];
            try
            {
                int chunk, range = _chunks.HomeOf(worker);
                while ((chunk = _chunks.Take(ref range)) >= 0)
                {
                    int first = chunk * ImagesPerChunk;
                    int images = Math.Min(ImagesPerChunk, Batch - first);
                    if (Mode == Pass.Forward)
                        ForwardChunk(first, images, col, padded);
                    else if (Mode == Pass.ForwardPooled)
                        ForwardPooledChunk(first, images, col, convolved, padded);
                    else
                        BackwardChunk(chunk, first, images, col, dCol, convolved, padded, workspace, weightWorkspace);
                }
            }
            finally
            {
                if (needsColumns)
                    ScratchBuffers.Return(col, generation);
                if (needsPadded)
                    ScratchBuffers.Return(padded, generation);
                if (needsInputGradient)
                    ScratchBuffers.Return(dCol, generation);
                if (pooled)
                    ScratchBuffers.Return(convolved, generation);
                if (weightsByWinograd)
                    ScratchBuffers.Return(weightWorkspace, generation);
                if (winogradInput)
                    ScratchBuffers.Return(workspace, generation);
            }
        }

        /// <summary>The forward chunks by the Winograd kernel, each worker with its block workspace.</summary>
        private void RunWinograd(int worker)
        {
            int generation = ScratchBuffers.Generation;
            bool pooled = Mode == Pass.ForwardPooled;
            float[] workspace = ScratchBuffers.Rent(WinogradConv.WorkspaceLength(G, WinogradTile));
            try
            {
                fixed (float* workspaceStart = workspace)
                {
                    float* pWorkspace = CacheLineAlignment.Align(workspaceStart);
                    int chunk, range = _chunks.HomeOf(worker), outputSize = pooled ? Pool.OutputPixels * Filters : G.OutputPixels * Filters;
                    while ((chunk = _chunks.Take(ref range)) >= 0)
                    {
                        int first = chunk * ImagesPerChunk, count = Math.Min(ImagesPerChunk, Batch - first);
                        int* argmax = pooled && ArgMax != 0 ? (int*)ArgMax + (long)first * outputSize : null;
                        WinogradConv.Forward((float*)X + (long)first * G.InputImageSize, count, G, (float*)TransformedW, (float*)W + G.PatchSize * Filters,
                            Filters, Relu, (float*)Y + (long)first * outputSize, argmax, pooled, WinogradTile, pWorkspace);
                    }
                }
            }
            finally
            {
                ScratchBuffers.Return(workspace, generation);
            }
        }

        /// <summary>
        /// Output pixels per block of the input gradient: dcol = dZ·wᵀ is made and scattered a block at a time, so that it
        /// stays in L2 (about 192 KB) between the product and the scatter. For two 30×30 images of the Keras 32-channel
        /// layer the whole chunk's dcol would be 2 MB. Each dX element still receives its additions in pixel order, and each
        /// dcol row is the same product at any block size, so the result does not depend on the blocking.
        /// </summary>
        private int InputGradientPixels => Math.Clamp(48 * 1024 / G.PatchSize / 8 * 8, 8, Math.Max(8, G.OutputPixels));

        /// <summary>
        /// Whether the backward's weight gradient makes dZ in registers from the pooled dY and argmax
        /// (<see cref="DirectConvWeightGradient.ComputePooled"/>) or from dY and the ReLU's bits the forward kept
        /// (<see cref="DirectConvWeightGradient.ComputeMasked"/>) instead of writing it first: only when dX is not wanted
        /// (its GEMM needs dZ whole), as for a stem.
        /// </summary>
        private bool GradientInTheTile => Direct && WantParameters && !WantInput && DirectConvWeightGradient.FusesGradient(G)
            && (Mode == Pass.BackwardPooled ? DirectConvWeightGradient.TakesPooling(G, Pool) : Mode == Pass.Backward && Relu && ReluBits != 0);

        /// <summary>This chunk's im2col matrix (with the ones column) in the worker's private buffer.</summary>
        private Span<float> BuildColumns(int first, int images, float[] buffer)
        {
            int columns = G.PatchSize + 1, pixels = G.OutputPixels, length = images * pixels * columns;
            Span<float> col = buffer.AsSpan(0, length);
            var x = new ReadOnlySpan<float>((float*)X + (long)first * G.InputImageSize, images * G.InputImageSize);
            for (int i = 0; i < images; i++)
                Im2Col.Forward(x.Slice(i * G.InputImageSize, G.InputImageSize), col.Slice(i * pixels * columns, pixels * columns), G, columns);
            return col;
        }

        /// <summary>The chunk's images as the direct kernels read them (see <see cref="DirectConv.Prepare"/>).</summary>
        private DirectConv.Source DirectSource(int first, int images, float[] paddedBuffer)
        {
            fixed (float* padded = paddedBuffer) // ScratchBuffers hands out pinned arrays: the pointer stays valid after the block
                return DirectConv.Prepare((float*)X + (long)first * G.InputImageSize, images, G, padded);
        }

        private void ForwardChunk(int first, int images, float[] colBuffer, float[] paddedBuffer)
        {
            int columns = G.PatchSize + 1, pixels = G.OutputPixels, rows = images * pixels;
            if (Direct) // act(x∗w + b) with the patches read in place; W holds [w; b]
            {
                DirectConvForward.Forward(DirectSource(first, images, paddedBuffer), images, G, (float*)W, (float*)W + G.PatchSize * Filters,
                    Filters, Relu, (float*)Y + (long)first * pixels * Filters,
                    ReluBits == 0 ? null : (int*)ReluBits + Kernels.ReluBits.Length((long)first * pixels, Filters));
                return;
            }
            var y = new Span<float>((float*)Y + (long)first * pixels * Filters, rows * Filters);
            if (DirectForward256) // the patches read in place and the ReLU in registers, the im2col path's bits
            {
                DirectConvForward256.Forward(DirectSource(first, images, paddedBuffer), images, G, (float*)W, (float*)W + G.PatchSize * Filters,
                    Filters, Relu, (float*)Y + (long)first * pixels * Filters,
                    ReluBits == 0 ? null : (int*)ReluBits + Kernels.ReluBits.Length((long)first * pixels, Filters));
                return;
            }
            Span<float> col = BuildColumns(first, images, colBuffer);
            var weightsWithBias = new ReadOnlySpan<float>((float*)W, columns * Filters);
            Gemm.Multiply(false, false, rows, Filters, columns, col, columns, weightsWithBias, Filters, y, Filters);
            if (Relu) // fused while the chunk's output is still in cache
                ActivationKernels.ReluForward(y, y);
        }

        /// <summary>The chunk's convolution into the worker's buffer, then each image pooled from there into y.</summary>
        private void ForwardPooledChunk(int first, int images, float[] colBuffer, float[] convolvedBuffer, float[] paddedBuffer)
        {
            int columns = G.PatchSize + 1, pixels = G.OutputPixels, rows = images * pixels, imageSize = pixels * Filters;
            int pooledSize = Pool.OutputPixels * Filters;
            Span<float> convolved = convolvedBuffer.AsSpan(0, Math.Min(convolvedBuffer.Length, rows * Filters));
            if (Direct && DirectConvForward.PoolApplies(Pool)) // each 2×2 tile pooled in registers: no convolution output at all
            {
                DirectConvForward.ForwardMaxPool(DirectSource(first, images, paddedBuffer), images, G, (float*)W, (float*)W + G.PatchSize * Filters,
                    Filters, Relu, (float*)Y + (long)first * pooledSize, ArgMax == 0 ? null : (int*)ArgMax + (long)first * pooledSize, Pool);
                return;
            }
            if (PoolsInDirectForward256) // each window pooled in registers, or each pair of rows while in L1: the separate passes' bits
            {
                fixed (float* rowPair = convolved)
                    DirectConvForward256.ForwardMaxPool(DirectSource(first, images, paddedBuffer), images, G, (float*)W,
                        (float*)W + G.PatchSize * Filters, Filters, Relu, rowPair, (float*)Y + (long)first * pooledSize,
                        ArgMax == 0 ? null : (int*)ArgMax + (long)first * pooledSize, Pool);
                return;
            }
            if (Direct)
            {
                fixed (float* pConvolved = convolved)
                    DirectConvForward.Forward(DirectSource(first, images, paddedBuffer), images, G, (float*)W, (float*)W + G.PatchSize * Filters,
                        Filters, Relu, pConvolved);
            }
            else
            {
                if (DirectForward256) // the patches read in place and the ReLU in registers, the im2col path's bits
                    fixed (float* pConvolved = convolved)
                        DirectConvForward256.Forward(DirectSource(first, images, paddedBuffer), images, G, (float*)W,
                            (float*)W + G.PatchSize * Filters, Filters, Relu, pConvolved);
                else
                {
                    Span<float> col = BuildColumns(first, images, colBuffer);
                    var weightsWithBias = new ReadOnlySpan<float>((float*)W, columns * Filters);
                    Gemm.Multiply(false, false, rows, Filters, columns, col, columns, weightsWithBias, Filters, convolved, Filters);
                    if (Relu)
                        ActivationKernels.ReluForward(convolved, convolved);
                }
            }
            var y = new Span<float>((float*)Y + (long)first * pooledSize, images * pooledSize);
            var argmax = ArgMax == 0 ? Span<int>.Empty : new Span<int>((int*)ArgMax + (long)first * pooledSize, images * pooledSize);
            for (int i = 0; i < images; i++)
                MaxPoolKernels.ForwardImage(convolved.Slice(i * imageSize, imageSize), y.Slice(i * pooledSize, pooledSize),
                    argmax.IsEmpty ? [] : argmax.Slice(i * pooledSize, pooledSize), 0, Pool);
            if (Relu && !argmax.IsEmpty) // windows the ReLU zeroed pass no gradient (see ZeroedWindow)
                for (int o = 0; o < y.Length; o++)
                    if (!(y[o] > 0f))
                        argmax[o] = ZeroedWindow;
        }

        /// <summary>
        /// The chunk's convolution output gradient from the pooled one: dZ = 0, then dZ[argmax[o]] += dY[o] in o order,
        /// image by image, skipping windows whose maximum the ReLU zeroed (<see cref="ZeroedWindow"/>).
        /// </summary>
        private Span<float> UnpoolGradient(int first, int images, float[] buffer)
        {
            int imageSize = G.OutputPixels * Filters, pooledSize = Pool.OutputPixels * Filters;
            // From the buffer's first cache line (a pinned scratch buffer): the weight gradient reads dZ 64 bytes at a time.
            Span<float> dZ = buffer.AsSpan(CacheLineAlignment.Offset(buffer), images * imageSize);
            float* dY = (float*)DY + (long)first * pooledSize;
            int* argmax = (int*)ArgMax + (long)first * pooledSize;
            fixed (float* pdZ = dZ)
            {
                if (MaxPoolKernels.Unpools2x2(Pool)) // disjoint windows: each image written whole, no clear and no scalar scatter
                {
                    for (int i = 0; i < images; i++)
                        MaxPoolKernels.Unpool2x2(dY + (long)i * pooledSize, argmax + (long)i * pooledSize, pdZ + (long)i * imageSize, Pool);
                    return dZ;
                }
                dZ.Clear();
                for (int i = 0; i < images; i++)
                {
                    float* image = pdZ + (long)i * imageSize;
                    int o0 = i * pooledSize;
                    for (int o = o0; o < o0 + pooledSize; o++)
                        if (argmax[o] != ZeroedWindow)
                            image[argmax[o]] += dY[o];
                }
            }
            return dZ;
        }

        private void BackwardChunk(int chunk, int first, int images, float[] colBuffer, float[] dColBuffer, float[] unpooledBuffer, float[] paddedBuffer,
            float[] workspace, float[] weightWorkspace)
        {
            int patch = G.PatchSize, columns = patch + 1, pixels = G.OutputPixels, rows = images * pixels;
            if (GradientInTheTile) // [dW; db] straight from the pooled dY and argmax, or from dY and the ReLU's bits: dZ is never written
            {
                float* partial = (float*)PartialSums + (long)chunk * PartialStride;
                long pooledFirst = (long)first * Pool.OutputPixels * Filters;
                if (Mode == Pass.BackwardPooled)
                    DirectConvWeightGradient.ComputePooled(DirectSource(first, images, paddedBuffer), images, G, (float*)DY + pooledFirst,
                        (int*)ArgMax + pooledFirst, Filters, partial, Pool);
                else
                    DirectConvWeightGradient.ComputeMasked(DirectSource(first, images, paddedBuffer), images, G, (float*)DY + (long)first * pixels * Filters,
                        (int*)ReluBits + Kernels.ReluBits.Length((long)first * pixels, Filters), Filters, partial);
                return;
            }
            Span<float> dZ;
            if (Mode == Pass.BackwardPooled)
            {
                dZ = UnpoolGradient(first, images, unpooledBuffer);
            }
            else
            {
                dZ = new Span<float>((float*)DY + (long)first * pixels * Filters, rows * Filters);
                if (Relu && ReluBits != 0) // dZ = dY ⊙ [y > 0] from the bits the forward kept (an AVX2 stem), in place
                    fixed (float* pdZ = dZ)
                        Kernels.ReluBits.MaskInPlace(pdZ, (int*)ReluBits + Kernels.ReluBits.Length((long)first * pixels, Filters), (long)rows * Filters);
                else if (Relu) // dZ = dY ⊙ [y > 0], in place: this entry is the only reader of its output's gradient
                    ActivationKernels.ReluMask(new ReadOnlySpan<float>((float*)Y + (long)first * pixels * Filters, rows * Filters), dZ);
            }
            if (WantParameters && WinogradWeights) // this chunk's [dW; db] by F(3×3, 4×4): 4x fewer multiply-adds
            {
                fixed (float* pdZ = dZ, pWorkspace = weightWorkspace)
                    WinogradWeightGradient.Compute((float*)X + (long)first * G.InputImageSize, images, G, pdZ, Filters,
                        (float*)PartialSums + (long)chunk * PartialStride, CacheLineAlignment.Align(pWorkspace),
                        pooled: Mode == Pass.BackwardPooled && MaxPoolKernels.Unpools2x2(Pool));
            }
            else if (WantParameters && (Direct || DirectWeights256)) // this chunk's [dW; db] with the patches read in place from x
            {
                fixed (float* pdZ = dZ)
                    DirectConvWeightGradient.Compute(DirectSource(first, images, paddedBuffer), images, G, pdZ, Filters,
                        (float*)PartialSums + (long)chunk * PartialStride);
            }
            else if (WantParameters) // this chunk's [dW; db] = colᵀ·dZ, col rebuilt from x
            {
                Span<float> col = BuildColumns(first, images, colBuffer);
                var partial = new Span<float>((float*)PartialSums + (long)chunk * PartialStride, PartialStride);
                if (ConvWeightGradient.Applies(Filters)) // summed in registers over the chunk's rows, no packing
                    fixed (float* pCol = col, pdZ = dZ, pPartial = partial)
                        ConvWeightGradient.Compute(rows, columns, Filters, pCol, columns, pdZ, pPartial);
                else
                    Gemm.Multiply(true, false, columns, Filters, rows, col, columns, dZ, Filters, partial, Filters);
            }
            if (WantInput && InputByWinograd) // dX (+)= dZ ∗ w′ by the Winograd forward, stored when dX is new
            {
                fixed (float* pdZ = dZ, workspaceStart = workspace)
                    WinogradConv.Forward(pdZ, images, InputGradient,
                        (float*)InputPanels, null, G.Channels, relu: false, (float*)DX + (long)first * G.InputImageSize, null, pooled: false,
                        InputTile, CacheLineAlignment.Align(workspaceStart), accumulate: !OverwriteInput);
                return;
            }
            if (WantInput && OverwriteInput) // this chunk's images only: cleared here, the additions below find them in cache
                new Span<float>((float*)DX + (long)first * G.InputImageSize, images * G.InputImageSize).Clear();
            if (WantInput && DirectInput) // dX += col2im(dZ·wᵀ), each register tile of dcol added where it belongs
            {
                fixed (float* pdZ = dZ)
                    DirectConvInputGradient.Compute(pdZ, images, G, (float*)InputPanels, Filters, (float*)DX + (long)first * G.InputImageSize);
            }
            else if (WantInput) // dcol = dZ·wᵀ, then scatter back into the images, a block of output pixels at a time
            {
                var w = new ReadOnlySpan<float>((float*)W, patch * Filters);
                var dX = new Span<float>((float*)DX + (long)first * G.InputImageSize, images * G.InputImageSize);
                int block = InputGradientPixels;
                for (int i = 0; i < images; i++)
                {
                    Span<float> image = dX.Slice(i * G.InputImageSize, G.InputImageSize);
                    for (int pixel = 0; pixel < pixels; pixel += block)
                    {
                        int count = Math.Min(block, pixels - pixel);
                        var dCol = dColBuffer.AsSpan(0, count * patch);
                        Gemm.Multiply(false, true, count, patch, Filters, dZ.Slice((i * pixels + pixel) * Filters, count * Filters), Filters, w, Filters, dCol, patch);
                        Im2Col.Backward(dCol, image, G, pixel, count);
                    }
                }
            }
        }
    }
}
