namespace NanoNet.Kernels;

/// <summary>
/// Copies a rectangular window between two row-major tensors of the same rank: the one data movement
/// behind Slice, Pad, Concat and Split (forward and backward).
/// </summary>
/// <remarks>
/// <para>Shape legend: source has shape S, destination has shape D (same rank R). The window has size
/// L, starts at a in the source and at b in the destination:
/// destination[b + i] (=|+=) source[a + i] for every index 0 ≤ i &lt; L (all per axis).</para>
/// <list type="bullet">
/// <item>Slice: source = x, a = starts, destination = y, b = 0, L = y's shape. Its backward adds the
/// same window the other way, from dY into dX.</item>
/// <item>Pad: destination = y (pre-filled with the constant), b = the padding before each axis, L = x's shape.</item>
/// <item>Concat: each input is a window of y starting at the sum of the earlier inputs' sizes along the axis; Split is the reverse.</item>
/// </list>
/// <para>An axis the window covers entirely in both tensors merges with the axis outside it, so the
/// innermost axis becomes as long a contiguous run as possible (a whole-tensor copy is one run; a concat
/// on the last axis is one run per row). Each run is one span copy (or TensorPrimitives.Add); an odometer
/// walks the outer axes. Large windows split their runs, or a single long run, across the workers.</para>
/// </remarks>
public static unsafe class WindowKernels
{
    private const int ParallelThreshold = 1 << 16;  // elements below which one thread is faster

    /// <summary>
    /// destination[b + i] = source[a + i] over the window (see the shape legend); with
    /// <paramref name="accumulate"/>, destination[b + i] += source[a + i].
    /// </summary>
    /// <exception cref="ArgumentException">The ranks differ, a span does not match its shape, or the window leaves a tensor.</exception>
    public static void CopyWindow(ReadOnlySpan<float> source, ReadOnlySpan<int> sourceShape, ReadOnlySpan<int> sourceStart,
        Span<float> destination, ReadOnlySpan<int> destinationShape, ReadOnlySpan<int> destinationStart, ReadOnlySpan<int> size,
        bool accumulate = false)
    {
        int rank = size.Length;
        if (sourceShape.Length != rank || sourceStart.Length != rank || destinationShape.Length != rank || destinationStart.Length != rank)
            throw new ArgumentException($"Window kernel: source {Shapes.Format(sourceShape)} at {Shapes.Format(sourceStart)}, destination {Shapes.Format(destinationShape)} at {Shapes.Format(destinationStart)} and window {Shapes.Format(size)} must have the same rank.");
        if (source.Length != Shapes.Product(sourceShape) || destination.Length != Shapes.Product(destinationShape))
            throw new ArgumentException($"Window kernel: spans of {source.Length} and {destination.Length} elements do not match shapes {Shapes.Format(sourceShape)} and {Shapes.Format(destinationShape)}.");
        for (int k = 0; k < rank; k++)
            if (size[k] < 0 || sourceStart[k] < 0 || destinationStart[k] < 0
                || sourceStart[k] + size[k] > sourceShape[k] || destinationStart[k] + size[k] > destinationShape[k])
                throw new ArgumentException($"Window kernel: window {Shapes.Format(size)} at {Shapes.Format(sourceStart)} in {Shapes.Format(sourceShape)} → at {Shapes.Format(destinationStart)} in {Shapes.Format(destinationShape)} leaves a tensor on axis {k}.");
        if (Shapes.Product(size) == 0)
            return;
        fixed (float* ps = source, pd = destination)
        {
            if (accumulate)
                Run<Accumulate>(ps, sourceShape, sourceStart, pd, destinationShape, destinationStart, size);
            else
                Run<Overwrite>(ps, sourceShape, sourceStart, pd, destinationShape, destinationStart, size);
        }
    }

    private static void Run<TMode>(float* source, ReadOnlySpan<int> sourceShape, ReadOnlySpan<int> sourceStart,
        float* destination, ReadOnlySpan<int> destinationShape, ReadOnlySpan<int> destinationStart, ReadOnlySpan<int> size) where TMode : struct, IStoreMode
    {
        // Merge every axis the window covers entirely (in both tensors) into the axis outside it.
        int rank = size.Length;
        Span<int> s = stackalloc int[rank], d = stackalloc int[rank], a = stackalloc int[rank], b = stackalloc int[rank], l = stackalloc int[rank];
        int merged = 0;
        for (int k = 0; k < rank; k++)
        {
            bool whole = size[k] == sourceShape[k] && size[k] == destinationShape[k];
            if (whole && merged > 0)
            {
                int last = merged - 1;
                s[last] *= sourceShape[k];
                d[last] *= destinationShape[k];
                l[last] *= size[k];
                a[last] *= sourceShape[k];
                b[last] *= destinationShape[k];
            }
            else
            {
                (s[merged], d[merged], l[merged], a[merged], b[merged]) = (sourceShape[k], destinationShape[k], size[k], sourceStart[k], destinationStart[k]);
                merged++;
            }
        }
        if (merged == 0) // a scalar: one run of one element
        {
            (s[0], d[0], l[0], a[0], b[0]) = (1, 1, 1, 0, 0);
            merged = 1;
        }

        var job = WindowJob<TMode>.ForThisThread();
        job.Plan(source, destination, s[..merged], a[..merged], d[..merged], b[..merged], l[..merged]);
        long elements = job.Items * (job.OuterCount == 1 ? 1 : job.RunLength);
        int workers = elements < ParallelThreshold ? 1 : (int)Math.Min(Parallelism.CurrentMaxThreads, job.Items);
        Parallelism.Run(job, workers);
    }

    /// <summary>A planned window copy and one worker's share of it (one instance per thread and mode, reused).</summary>
    private sealed class WindowJob<TMode> : ParallelJob where TMode : struct, IStoreMode
    {
        [ThreadStatic] private static WindowJob<TMode>? t_instance;

        public static WindowJob<TMode> ForThisThread() => t_instance ??= new WindowJob<TMode>();

        private float* _source, _destination;
        private long _sourceBase, _destinationBase;
        private int[] _outerDims = new int[8], _sourceStrides = new int[8], _destinationStrides = new int[8];
        private int _outerRank;

        /// <summary>Elements in each contiguous run (the innermost merged axis).</summary>
        public int RunLength { get; private set; }

        /// <summary>Number of runs.</summary>
        public long OuterCount { get; private set; }

        /// <summary>What the workers share: runs, or the elements of the single run when there is only one.</summary>
        public long Items { get; private set; }

        public void Plan(float* source, float* destination, ReadOnlySpan<int> sourceShape, ReadOnlySpan<int> sourceStart,
            ReadOnlySpan<int> destinationShape, ReadOnlySpan<int> destinationStart, ReadOnlySpan<int> size)
        {
            int rank = size.Length;
            _source = source;
            _destination = destination;
            if (_outerDims.Length < rank)
                (_outerDims, _sourceStrides, _destinationStrides) = (new int[rank], new int[rank], new int[rank]);
            int sourceStride = 1, destinationStride = 1;
            _sourceBase = _destinationBase = 0;
            OuterCount = 1;
            for (int k = rank - 1; k >= 0; k--)
            {
                _sourceBase += (long)sourceStart[k] * sourceStride;
                _destinationBase += (long)destinationStart[k] * destinationStride;
                if (k < rank - 1)
                {
                    (_outerDims[k], _sourceStrides[k], _destinationStrides[k]) = (size[k], sourceStride, destinationStride);
                    OuterCount *= size[k];
                }
                sourceStride *= sourceShape[k];
                destinationStride *= destinationShape[k];
            }
            _outerRank = rank - 1;
            RunLength = size[rank - 1];
            Items = OuterCount == 1 ? RunLength : OuterCount;
        }

        public override void RunWorker(int worker, int workerCount)
        {
            long from = Items * worker / workerCount, to = Items * (worker + 1) / workerCount;
            if (from >= to)
                return;
            if (OuterCount == 1) // one long run: split its elements
            {
                int count = (int)(to - from);
                TMode.Run(new ReadOnlySpan<float>(_source + _sourceBase + from, count), new Span<float>(_destination + _destinationBase + from, count));
                return;
            }
            Span<int> counter = stackalloc int[_outerRank];
            var odometer = new StridedOdometer(_outerDims.AsSpan(0, _outerRank), _sourceStrides.AsSpan(0, _outerRank),
                _destinationStrides.AsSpan(0, _outerRank), counter, from, _sourceBase, _destinationBase);
            for (long run = from; run < to; run++, odometer.Next())
                TMode.Run(new ReadOnlySpan<float>(_source + odometer.Source, RunLength), new Span<float>(_destination + odometer.Destination, RunLength));
        }
    }
}
