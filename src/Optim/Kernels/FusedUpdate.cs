using NanoNet.Kernels;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Optim.Kernels;

/// <summary>
/// One optimizer's per-element formula: updates a vector of weights and up to three state vectors in
/// place, given the (already transformed) gradient. Implementations are small readonly structs holding
/// the step's scalars (learning rate, β, ...), so the JIT specializes and inlines them.
/// </summary>
/// <remarks>Unused state arguments are zero vectors whose results are discarded.</remarks>
internal interface IUpdateRule
{
    /// <summary>Applies the rule to one vector of lanes.</summary>
    void Apply<T>(ref T weight, T gradient, ref T state0, ref T state1, ref T state2) where T : struct, ILanes<T>;
}

/// <summary>
/// The fused optimizer pass: for each element, read θ, g and the state, transform g (clipping and
/// regularization), apply the rule, write θ and the state back — one pass over memory, no allocation.
/// </summary>
/// <remarks>
/// <para>
/// Shape legend: weights, gradient and every non-empty state span have the same length n; the pass covers all n
/// elements, or only those in a list of <see cref="ElementRange"/>s (an embedding's touched rows). The loop runs
/// the widest accelerated vector width first (512, 256, 128 bits) and finishes with one-lane scalar
/// steps; all widths compute bit-identical results (see <see cref="ILanes{TSelf}"/>).
/// </para>
/// <para>
/// The one-lane instantiation (<see cref="Lanes1"/>) is the plain reference twin: tests run a long
/// tensor through the vector loops and the same elements one by one through the scalar path, and require
/// equal bits. The kernel lives in <c>src/Optim</c> rather than <c>src/Tensor/Kernels</c> because each
/// rule is an optimizer's private formula; only the loop and the lane types are shared.
/// </para>
/// </remarks>
/// <para>
/// States are stored flushed (<see cref="TinyFloats"/>): an unused weight's states (an embedding row no batch used,
/// under a dense Adam or RMSprop update) shrink by β or ρ every step and would reach the subnormal floats.
/// </para>
/// <para>
/// The pass also checks the raw gradient for NaN and ±∞ at no measurable cost: it adds g − g (0 for a
/// number, NaN otherwise) into one accumulator per vector width, in registers, while the loop is bound
/// by memory anyway. <see cref="NonFiniteGradientSeen"/> reports the result to <see cref="Optimizer.Step"/>.
/// </para>
internal static unsafe class FusedUpdate
{
    [ThreadStatic] private static bool t_nonFiniteSeen, t_checked;

    /// <summary>
    /// Starts a check on this thread: <see cref="NonFiniteGradientSeen"/> and <see cref="Checked"/> are
    /// cleared, and every later <c>Run</c> on this thread sets them.
    /// </summary>
    public static void ResetCheck() => t_nonFiniteSeen = t_checked = false;

    /// <summary>Whether a gradient run through <c>Run</c> since <see cref="ResetCheck"/> held a NaN or an infinity.</summary>
    public static bool NonFiniteGradientSeen => t_nonFiniteSeen;

    /// <summary>Whether <c>Run</c> ran since <see cref="ResetCheck"/> (a custom optimizer's update may not use it).</summary>
    public static bool Checked => t_checked;

    /// <summary>Runs <paramref name="rule"/> over every element. Pass <c>default</c> for unused states.</summary>
    public static void Run<TRule>(TRule rule, in GradientTransform transform, Span<float> weights, ReadOnlySpan<float> gradient,
        Span<float> state0 = default, Span<float> state1 = default, Span<float> state2 = default)
        where TRule : struct, IUpdateRule =>
        Run(rule, transform, [new ElementRange(0, weights.Length)], weights, gradient, state0, state1, state2);

    /// <summary>
    /// Runs <paramref name="rule"/> over the elements in <paramref name="ranges"/> only (disjoint, in any order); the
    /// other elements of the weights and of every state buffer are not touched. Pass <c>default</c> for unused states.
    /// </summary>
    public static void Run<TRule>(TRule rule, in GradientTransform transform, ReadOnlySpan<ElementRange> ranges,
        Span<float> weights, ReadOnlySpan<float> gradient, Span<float> state0 = default, Span<float> state1 = default, Span<float> state2 = default)
        where TRule : struct, IUpdateRule
    {
        int n = weights.Length;
        if (gradient.Length != n)
            throw new ArgumentException($"The gradient has {gradient.Length} elements but the weights have {n}.", nameof(gradient));
        CheckState(state0, n, nameof(state0));
        CheckState(state1, n, nameof(state1));
        CheckState(state2, n, nameof(state2));
        long total = 0;
        foreach (ElementRange range in ranges)
        {
            if (range.Start < 0 || range.Length < 0 || range.Start > n - range.Length)
                throw new ArgumentOutOfRangeException(nameof(ranges), range, $"The range lies outside the {n} elements.");
            total += range.Length;
        }

        t_checked = true;
        int workers = SplitsOverWorkers(total, scattered: ranges.Length > 1) ? Parallelism.CurrentMaxThreads : 1;
        if (workers == 1)
        {
            if (!RunPieces(rule, transform, ranges, 0, total, weights, gradient, state0, state1, state2))
                t_nonFiniteSeen = true;
            return;
        }
        // Many elements (an embedding table, or many of its rows) are split into contiguous pieces of the ranges laid
        // end to end, one per worker. The rule is element-wise and every vector width gives the same bits, so the
        // split changes nothing.
        fixed (float* w = weights, g = gradient, s0 = state0, s1 = state1, s2 = state2)
        fixed (ElementRange* r = ranges)
        {
            var job = UpdateJob<TRule>.Rent(rule, transform, n, r, ranges.Length, total, w, g, s0, s1, s2);
            Parallelism.Run(job, workers);
            if (job.NonFiniteSeen)
                t_nonFiniteSeen = true;
        }
    }

    /// <summary>Updates at least this many elements with all workers at once (memory-bound: two cores read faster than one).</summary>
    internal const int ParallelThreshold = 1 << 18;

    /// <summary>
    /// The same for elements in several ranges (an embedding's touched rows): rows scattered over a large table are bound
    /// by memory latency, not bandwidth, so a second core, overlapping its own latencies, pays from fewer elements. The
    /// IMDB model's ~1,560 touched rows of 128 (200,000 elements) ran on one worker for 0.23 ms a step at 2 threads
    /// while the other updated the small dense parameters in 0.03 ms. <c>RowRunClear</c> (which then clears each
    /// worker's rows) splits at the same size.
    /// </summary>
    internal const int ScatteredParallelThreshold = 1 << 16;

    /// <summary>Whether an update of <paramref name="elements"/> elements, <paramref name="scattered"/> in several ranges, runs on all workers.</summary>
    internal static bool SplitsOverWorkers(long elements, bool scattered) =>
        elements >= (scattered ? ScatteredParallelThreshold : ParallelThreshold);

    /// <summary>
    /// Elements [<paramref name="from"/>, <paramref name="to"/>) of the ranges laid end to end, range piece by range
    /// piece; false if the gradient held a NaN or an infinity there.
    /// </summary>
    private static bool RunPieces<TRule>(TRule rule, in GradientTransform transform, ReadOnlySpan<ElementRange> ranges, long from, long to,
        Span<float> weights, ReadOnlySpan<float> gradient, Span<float> state0, Span<float> state1, Span<float> state2)
        where TRule : struct, IUpdateRule
    {
        bool finite = true;
        long offset = 0;   // where the current range starts, ranges laid end to end
        for (int r = 0; r < ranges.Length; r++)
        {
            ElementRange range = ranges[r];
            long begin = Math.Max(from, offset), end = Math.Min(to, offset + range.Length);
            if (begin < end)
            {
                // Short ranges scattered over a large table (an embedding's touched rows) are bound by memory latency:
                // ask for the range PrefetchDistance ahead now, so its lines arrive while this one is updated.
                if (r + PrefetchDistance < ranges.Length)
                    PrefetchRange(ranges[r + PrefetchDistance], weights, gradient, state0, state1, state2);
                int at = range.Start + (int)(begin - offset), length = (int)(end - begin);
                finite &= RunRange(rule, transform, weights.Slice(at, length), gradient.Slice(at, length),
                    Slice(state0, at, length), Slice(state1, at, length), Slice(state2, at, length));
            }
            offset += range.Length;
            if (offset >= to)
                break;
        }
        return finite;
    }

    private static Span<float> Slice(Span<float> state, int start, int length) => state.IsEmpty ? default : state.Slice(start, length);

    /// <summary>How many ranges ahead <see cref="RunPieces"/> prefetches (a longer range streams, and is left to the hardware).</summary>
    private const int PrefetchDistance = 4;

    /// <summary>Prefetches the range's lines in the weights, the gradient and each state buffer (<see cref="CacheLines"/>).</summary>
    private static void PrefetchRange(ElementRange range, Span<float> weights, ReadOnlySpan<float> gradient,
        Span<float> state0, Span<float> state1, Span<float> state2)
    {
        CacheLines.Prefetch(weights, range.Start, range.Length);
        CacheLines.Prefetch(gradient, range.Start, range.Length);
        if (!state0.IsEmpty)
            CacheLines.Prefetch(state0, range.Start, range.Length);
        if (!state1.IsEmpty)
            CacheLines.Prefetch(state1, range.Start, range.Length);
        if (!state2.IsEmpty)
            CacheLines.Prefetch(state2, range.Start, range.Length);
    }

    /// <summary>The widest vectors first, then narrower ones, then the scalar tail, over one range; false if the gradient held a NaN or an infinity.</summary>
    private static bool RunRange<TRule>(TRule rule, in GradientTransform transform, Span<float> weights, ReadOnlySpan<float> gradient,
        Span<float> state0, Span<float> state1, Span<float> state2)
        where TRule : struct, IUpdateRule
    {
        var loop = new Loop(weights, gradient, state0, state1, state2);
        int i = 0;
        bool finite = true;
        if (Vector512.IsHardwareAccelerated)
            i = loop.Run<TRule, Lanes512>(rule, transform, i, ref finite);
        if (Vector256.IsHardwareAccelerated)
            i = loop.Run<TRule, Lanes256>(rule, transform, i, ref finite);
        if (Vector128.IsHardwareAccelerated)
            i = loop.Run<TRule, Lanes128>(rule, transform, i, ref finite);
        loop.Run<TRule, Lanes1>(rule, transform, i, ref finite);
        return finite;
    }

    /// <summary>One parallel update: worker w takes the w-th contiguous piece of the ranges laid end to end (pointers pinned by the caller).</summary>
    private sealed class UpdateJob<TRule> : ParallelJob where TRule : struct, IUpdateRule
    {
        [ThreadStatic] private static UpdateJob<TRule>? t_cached;
        private TRule _rule;
        private GradientTransform _transform;
        private int _n, _rangeCount;
        private long _total;
        private ElementRange* _ranges;
        private float* _w, _g, _s0, _s1, _s2;
        private volatile bool _nonFinite;

        /// <summary>Whether some worker's range of the gradient held a NaN or an infinity.</summary>
        public bool NonFiniteSeen => _nonFinite;

        public static UpdateJob<TRule> Rent(TRule rule, in GradientTransform transform, int n, ElementRange* ranges, int rangeCount, long total,
            float* w, float* g, float* s0, float* s1, float* s2)
        {
            UpdateJob<TRule> job = t_cached ??= new UpdateJob<TRule>();
            (job._rule, job._transform, job._n, job._rangeCount, job._total) = (rule, transform, n, rangeCount, total);
            job._ranges = ranges;
            job._w = w; job._g = g; job._s0 = s0; job._s1 = s1; job._s2 = s2;
            job._nonFinite = false;
            return job;
        }

        public override void RunWorker(int worker, int workerCount)
        {
            var ranges = new ReadOnlySpan<ElementRange>(_ranges, _rangeCount);
            long start = SplitPoint(ranges, _total, worker, workerCount), end = SplitPoint(ranges, _total, worker + 1, workerCount);
            if (end <= start)
                return;
            if (!RunPieces(_rule, _transform, ranges, start, end,
                new Span<float>(_w, _n), new ReadOnlySpan<float>(_g, _n), Whole(_s0), Whole(_s1), Whole(_s2)))
                _nonFinite = true;
        }

        private Span<float> Whole(float* state) => state == null ? default : new Span<float>(state, _n);
    }

    /// <summary>
    /// What starting a range costs a worker, in elements: a short range scattered over a large table (one embedding row)
    /// begins with a wait on memory that a long range pays once. Split by elements alone, IMDB's touched rows left the
    /// caller the frequent ids (one long run of rows at the table's head, last used a step ago) and the helper the rare
    /// ids' scattered single rows: 46 against 164 µs. With each range weighing 1,024 more elements (a 512-byte row then
    /// weighs as much as 9 rows streamed), caller / helper 107 / 65 and 88 / 137 µs against 61 / 119 and 52 / 172, and
    /// text-train's uniform ids (single rows throughout) split as before (benchmarks/README.md, twenty-eighth sitting).
    /// <c>RowRunClear</c> splits the same runs at the same costs (its <c>RunCost</c>; a test holds the two equal).
    /// </summary>
    internal const int RangeCost = 1024;

    /// <summary>
    /// Where worker <paramref name="worker"/>'s piece of <paramref name="ranges"/> laid end to end (<paramref name="total"/>
    /// elements) starts, <paramref name="workerCount"/> giving the end: at an equal share of the cost, each range
    /// weighing its elements plus <see cref="RangeCost"/>, on a 64-element boundary (for one range covering the tensor:
    /// whole vectors of every width in each piece).
    /// </summary>
    internal static long SplitPoint(ReadOnlySpan<ElementRange> ranges, long total, int worker, int workerCount)
    {
        if (worker <= 0)
            return 0;
        if (worker >= workerCount)
            return total;
        double target = (double)(total + (long)RangeCost * ranges.Length) * worker / workerCount, cost = 0;
        long offset = 0;
        foreach (ElementRange range in ranges)
        {
            if (cost + RangeCost + range.Length >= target)
                return offset + (long)Math.Clamp(target - cost - RangeCost, 0, range.Length) & ~63L;
            cost += RangeCost + range.Length;
            offset += range.Length;
        }
        return total & ~63L;
    }

    private static void CheckState(Span<float> state, int n, string name)
    {
        if (!state.IsEmpty && state.Length != n)
            throw new ArgumentException($"The state buffer has {state.Length} elements but the weights have {n}.", name);
    }

    /// <summary>The spans of one call, as references (a ref struct so the loop can hold them).</summary>
    private readonly ref struct Loop(Span<float> weights, ReadOnlySpan<float> gradient, Span<float> state0, Span<float> state1, Span<float> state2)
    {
        private readonly Span<float> _weights = weights, _state0 = state0, _state1 = state1, _state2 = state2;
        private readonly ReadOnlySpan<float> _gradient = gradient;

        /// <summary>
        /// Processes whole vectors of <typeparamref name="T"/> from <paramref name="start"/>; returns where
        /// it stopped, and clears <paramref name="finite"/> if a gradient element was NaN or infinite.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)] // one compact loop per width; the rule inlines into it
        public int Run<TRule, T>(TRule rule, in GradientTransform transform, int start, ref bool finite)
            where TRule : struct, IUpdateRule
            where T : struct, ILanes<T>
        {
            ref float w = ref MemoryMarshal.GetReference(_weights);
            ref float g = ref MemoryMarshal.GetReference(_gradient);
            ref float s0 = ref MemoryMarshal.GetReference(_state0);
            ref float s1 = ref MemoryMarshal.GetReference(_state1);
            ref float s2 = ref MemoryMarshal.GetReference(_state2);
            bool has0 = !_state0.IsEmpty, has1 = !_state1.IsEmpty, has2 = !_state2.IsEmpty;
            GradientTransform gradientTransform = transform;

            // g − g is 0 for a number and NaN for NaN or ±∞; the sum stays NaN once one is seen.
            T nonFinite = default;
            int i = start, last = _weights.Length - T.Count;
            for (; i <= last; i += T.Count)
            {
                nuint at = (nuint)i;
                T weight = T.Load(ref w, at);
                T raw = T.Load(ref g, at);
                nonFinite += raw - raw;
                T grad = gradientTransform.Apply(raw, weight);
                T a = has0 ? T.Load(ref s0, at) : default;
                T b = has1 ? T.Load(ref s1, at) : default;
                T c = has2 ? T.Load(ref s2, at) : default;
                rule.Apply(ref weight, grad, ref a, ref b, ref c);
                T.Store(weight, ref w, at);
                if (has0) T.Store(TinyFloats.Flush(a), ref s0, at);
                if (has1) T.Store(TinyFloats.Flush(b), ref s1, at);
                if (has2) T.Store(TinyFloats.Flush(c), ref s2, at);
            }
            if (i > start)
            {
                Span<float> lanes = stackalloc float[T.Count];
                T.Store(nonFinite, ref MemoryMarshal.GetReference(lanes), 0);
                foreach (float lane in lanes)
                    if (lane != 0f)   // NaN compares unequal to everything
                        finite = false;
            }
            return i;
        }
    }
}
