namespace NanoNet.Kernels;

/// <summary>
/// 2-D convolution over a batch of NHWC images, lowered to GEMM through <see cref="Im2Col"/>.
/// </summary>
/// <remarks>
/// <para>Shape legend: x is N×H×W×C; the kernel w is (KH, KW, C, F) = a P×F matrix with
/// P = KH·KW·C; col is N×(OH·OW)×P (kept from forward for the weight gradient); y and dY are
/// N×OH×OW×F = (N·OH·OW)×F.</para>
/// <para>Forward: col = im2col(x); y = col·w + b. Backward: dW = colᵀ·dY, db = Σ rows of dY,
/// dcol = dY·wᵀ, dX = col2im(dcol).</para>
/// <para>Why NHWC: channels innermost make each im2col run contiguous, make col·w land directly in the
/// NHWC output (no transpose, no layout change before Dense), and let pooling vectorise over channels.</para>
/// <para>Parallelism and determinism: the batch is cut into chunks of a fixed number of images that
/// depends only on the shapes, never on the thread count; workers take whole chunks. Forward and dX
/// touch only their chunk's rows. dW and db are summed per chunk into private partials, and the partials
/// are added in chunk order afterwards, so every sum has the same order at any thread count.</para>
/// </remarks>
public static unsafe class Conv2DKernels
{
    /// <summary>About this many im2col rows per chunk: enough GEMM work per task, small enough to balance.</summary>
    private const int TargetRowsPerChunk = 2048;

    /// <summary>Images per parallel chunk for this geometry (independent of the thread count).</summary>
    public static int ImagesPerChunk(in ConvGeometry g) => Math.Max(1, TargetRowsPerChunk / Math.Max(1, g.OutputPixels));

    /// <summary>y = im2col(x)·w + b for a batch; fills <paramref name="col"/> for the backward pass.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        Span<float> y, Span<float> col, int batch, int filters, in ConvGeometry g)
    {
        fixed (float* px = x, pw = w, pb = bias, py = y, pcol = col)
        {
            var job = ConvJob.Rent(g, batch, filters);
            job.Mode = ConvJob.Pass.Forward;
            (job.X, job.W, job.Bias, job.Y, job.Col) = ((nint)px, (nint)pw, (nint)pb, (nint)py, (nint)pcol);
            Parallelism.Run(job, job.Chunks);
        }
    }

    /// <summary>
    /// Accumulates dW += colᵀ·dY and dBias += Σ dY (when those spans are non-empty) and dX += col2im(dY·wᵀ)
    /// (when <paramref name="dX"/> is non-empty).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> col, ReadOnlySpan<float> w, ReadOnlySpan<float> dY,
        Span<float> dW, Span<float> dBias, Span<float> dX, int batch, int filters, in ConvGeometry g)
    {
        var job = ConvJob.Rent(g, batch, filters);
        int patch = g.PatchSize;
        bool weights = !dW.IsEmpty, biases = !dBias.IsEmpty;
        float[] partials = job.Partials(weights ? patch * filters : 0, biases ? filters : 0);
        fixed (float* pcol = col, pw = w, pdy = dY, pdx = dX, ppart = partials)
        {
            job.Mode = ConvJob.Pass.Backward;
            (job.Col, job.W, job.DY, job.DX, job.PartialSums) = ((nint)pcol, (nint)pw, (nint)pdy, (nint)pdx, (nint)ppart);
            (job.WantWeights, job.WantBias, job.WantInput) = (weights, biases, !dX.IsEmpty);
            Parallelism.Run(job, job.Chunks);
        }
        // Reduce the per-chunk partial sums in chunk order: deterministic at any thread count.
        int stride = job.PartialStride;
        for (int chunk = 0; chunk < job.Chunks; chunk++)
        {
            ReadOnlySpan<float> part = partials.AsSpan(chunk * stride, stride);
            if (weights)
                System.Numerics.Tensors.TensorPrimitives.Add(dW, part[..(patch * filters)], dW);
            if (biases)
                System.Numerics.Tensors.TensorPrimitives.Add(dBias, part.Slice(weights ? patch * filters : 0, filters), dBias);
        }
    }

    /// <summary>One convolution pass's arguments and its chunk loop (pointers are pinned by the caller).</summary>
    private sealed class ConvJob : ParallelJob
    {
        public enum Pass { Forward, Backward }

        [ThreadStatic] private static ConvJob? t_cached;
        [ThreadStatic] private static float[]? t_dCol;
        private float[] _partials = [];
        private int _nextChunk;

        public Pass Mode;
        public ConvGeometry G;
        public int Batch, Filters, Chunks, ImagesPerChunk, PartialStride;
        public nint X, W, Bias, Y, Col, DY, DX, PartialSums;
        public bool WantWeights, WantBias, WantInput;

        public static ConvJob Rent(in ConvGeometry g, int batch, int filters)
        {
            ConvJob job = t_cached ??= new ConvJob();
            job.G = g;
            job.Batch = batch;
            job.Filters = filters;
            job.ImagesPerChunk = Conv2DKernels.ImagesPerChunk(g);
            job.Chunks = (batch + job.ImagesPerChunk - 1) / job.ImagesPerChunk;
            job._nextChunk = -1;
            return job;
        }

        public float[] Partials(int weightLength, int biasLength)
        {
            PartialStride = weightLength + biasLength;
            int needed = PartialStride * Chunks;
            if (_partials.Length < needed)
                _partials = new float[needed];
            return _partials;
        }

        public override void RunWorker(int worker, int workerCount)
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref _nextChunk)) < Chunks)
            {
                int first = chunk * ImagesPerChunk;
                int images = Math.Min(ImagesPerChunk, Batch - first);
                if (Mode == Pass.Forward)
                    ForwardChunk(first, images);
                else
                    BackwardChunk(chunk, first, images);
            }
        }

        private void ForwardChunk(int first, int images)
        {
            int patch = G.PatchSize, pixels = G.OutputPixels, rows = images * pixels;
            var x = new ReadOnlySpan<float>((float*)X + (long)first * G.InputImageSize, images * G.InputImageSize);
            var col = new Span<float>((float*)Col + (long)first * pixels * patch, rows * patch);
            var y = new Span<float>((float*)Y + (long)first * pixels * Filters, rows * Filters);
            var w = new ReadOnlySpan<float>((float*)W, patch * Filters);
            var bias = new ReadOnlySpan<float>((float*)Bias, Filters);
            for (int i = 0; i < images; i++)
                Im2Col.Forward(x.Slice(i * G.InputImageSize, G.InputImageSize), col.Slice(i * pixels * patch, pixels * patch), G);
            Gemm.Multiply(false, false, rows, Filters, patch, col, patch, w, Filters, y, Filters);
            for (int r = 0; r < rows; r++)
            {
                Span<float> row = y.Slice(r * Filters, Filters);
                System.Numerics.Tensors.TensorPrimitives.Add(row, bias, row);
            }
        }

        private void BackwardChunk(int chunk, int first, int images)
        {
            int patch = G.PatchSize, pixels = G.OutputPixels, rows = images * pixels;
            var col = new ReadOnlySpan<float>((float*)Col + (long)first * pixels * patch, rows * patch);
            var dY = new ReadOnlySpan<float>((float*)DY + (long)first * pixels * Filters, rows * Filters);
            var partial = new Span<float>((float*)PartialSums + (long)chunk * PartialStride, PartialStride);
            if (WantWeights) // partial dW = colᵀ·dY over this chunk's rows
                Gemm.Multiply(true, false, patch, Filters, rows, col, patch, dY, Filters, partial[..(patch * Filters)], Filters);
            if (WantBias)
            {
                Span<float> db = partial.Slice(WantWeights ? patch * Filters : 0, Filters);
                db.Clear();
                for (int r = 0; r < rows; r++)
                    System.Numerics.Tensors.TensorPrimitives.Add(db, dY.Slice(r * Filters, Filters), db);
            }
            if (WantInput) // dcol = dY·wᵀ, then scatter back into the images
            {
                float[] dColBuffer = t_dCol is { } b && b.Length >= rows * patch ? b : (t_dCol = new float[rows * patch]);
                var dCol = dColBuffer.AsSpan(0, rows * patch);
                var w = new ReadOnlySpan<float>((float*)W, patch * Filters);
                Gemm.Multiply(false, true, rows, patch, Filters, dY, Filters, w, Filters, dCol, patch);
                var dX = new Span<float>((float*)DX + (long)first * G.InputImageSize, images * G.InputImageSize);
                for (int i = 0; i < images; i++)
                    Im2Col.Backward(dCol.Slice(i * pixels * patch, pixels * patch), dX.Slice(i * G.InputImageSize, G.InputImageSize), G);
            }
        }
    }
}
