namespace NanoNet;

/// <summary>
/// NanoNet's random number generator: seeded, with a state you can save and restore, and with the same
/// output at any thread count. All randomness in the project (weight initialisation, shuffling,
/// augmentation, dropout) comes from here.
/// </summary>
/// <remarks>
/// <para>
/// <b>Counter-based.</b> The generator is <see cref="Philox"/> with key = <see cref="Seed"/> and 128-bit
/// counter = (block index, <see cref="Stream"/>), each half 64 bits. It is read as one long sequence of
/// 32-bit values: the value at position q is word q mod 4 of <c>Philox(Seed, (⌊q/4⌋, Stream))</c>. So the
/// value at any position depends only on (seed, stream, position), never on what was drawn before, and
/// the whole state is the three numbers in <see cref="RandomStreamState"/>. (System.Random's state cannot
/// be read.) Each (seed, stream) pair has 2^64 values.
/// </para>
/// <para>
/// <b>Streams.</b> Different stream ids give independent sequences under the same seed. Use
/// <see cref="ForStream"/> to derive one per purpose (one per layer, one per epoch, ...): then adding a
/// layer does not change another layer's weights, and epoch e's shuffle can be recomputed from the seed
/// and e alone. <see cref="RandomStreamIds"/> lists the ids NanoNet uses.
/// </para>
/// <para>
/// <b>How <see cref="Position"/> advances</b> (it counts 32-bit values consumed):
/// <list type="table">
/// <item><term><see cref="NextUInt32"/>, <see cref="NextFloat"/></term><description>1 value.</description></item>
/// <item><term><see cref="NextNormal"/></term><description>4 values.</description></item>
/// <item><term><see cref="NextInt"/></term><description>1 value, more when a draw is rejected (rare unless the bound is near 2^31).</description></item>
/// <item><term><see cref="FillUniform"/> of n elements</term><description>n values: element i uses the value at Position + i.</description></item>
/// <item><term><see cref="FillNormal"/> of n elements</term><description>4n values: element i uses the four at Position + 4i … Position + 4i + 3.</description></item>
/// <item><term>A dropout mask of n elements</term><description>⌈n/2⌉ values: element i uses 16 bits of the value at Position + ⌊i/2⌋,
/// its low half when i is even, its high half when i is odd.</description></item>
/// <item><term><see cref="Shuffle{T}"/> of n elements</term><description>one <see cref="NextInt"/> per element from the last down to the second.</description></item>
/// </list>
/// The scalar and bulk calls agree: a fill of n elements gives exactly the values of n scalar draws
/// (<c>low + (high − low)·NextFloat()</c>, or <c>mean + std·NextNormal()</c> rounded once from double),
/// and leaves the position where those draws would. Because a fill's element i depends only on its own
/// positions, large fills are split across <see cref="Parallelism"/>'s workers and give bit-identical
/// results at any thread count. The fills generate their values several Philox blocks per vector
/// (<see cref="PhiloxLanes"/>): the same bits as the scalar generator.
/// </para>
/// <para>
/// <b>Conversions.</b> A uniform float is the top 24 bits of a value times 2^−24, so it lies in [0, 1)
/// and is a multiple of 2^−24 (every such float is exactly representable). A normal uses Box–Muller
/// on two 53-bit uniforms built from its four values, u1 = (a + 1)·2^−53 ∈ (0, 1] (so ln u1 is finite)
/// and u2 = b·2^−53 ∈ [0, 1): z = √(−2 ln u1)·cos(2π u2), in double. Box–Muller's second output
/// (the sine) is not used, which keeps "one element, one block of four values" simple.
/// </para>
/// <para>An instance is not thread-safe: use one per thread (its bulk fills parallelise internally).</para>
/// </remarks>
public sealed class RandomStream
{
    /// <summary>Fills at least this long are split across the worker threads.</summary>
    internal const int ParallelThreshold = 1 << 15;

    /// <summary>Elements converted per chunk of the bulk fills (the 32-bit values live on the stack).</summary>
    private const int ChunkValues = 1024;

    /// <summary>
    /// Elements per piece of dropout's forward (<see cref="FillDropoutBits"/>): 256 values of draws (~450 cycles on Zen 4),
    /// then the piece's 2 KB of x read and 2 KB of y written. Pieces this small let the core's out-of-order window overlap one piece's
    /// loads and stores with the next piece's draws; 2,048-element pieces ran the two one after the other (Zen 4,
    /// <c>dropout-time</c>: 0.124–0.130 → 0.107 ms with 512 and 0.104 with 256 on AVX-512, 0.141 → 0.122–0.125 on AVX2;
    /// 128 and 64 lose to each call's set-up). A multiple of 32: whole ints of keep bits.
    /// </summary>
    private const int DropoutPieceElements = 512;

    private const float FloatUnit = 1f / (1 << 24);          // 2^-24
    private const double DoubleUnit = 1.0 / (1UL << 53);     // 2^-53

    private PhiloxKey _key;
    // The last Philox block computed, so that four consecutive scalar draws cost one block.
    private PhiloxBlock _cached;
    private ulong _cachedBlockIndex;
    private bool _hasCached;

    /// <summary>A generator at position 0 of stream <paramref name="stream"/> under <paramref name="seed"/>.</summary>
    public RandomStream(ulong seed, ulong stream = 0)
    {
        Seed = seed;
        Stream = stream;
        _key = PhiloxKey.From(seed);
    }

    /// <summary>The seed (the Philox key).</summary>
    public ulong Seed { get; private set; }

    /// <summary>The stream id (the high 64 bits of the Philox counter).</summary>
    public ulong Stream { get; private set; }

    /// <summary>The number of 32-bit values consumed so far: the next value drawn is the one at this position.</summary>
    public ulong Position { get; private set; }

    /// <summary>The complete state: a generator restored from it continues exactly as this one will.</summary>
    public RandomStreamState State => new(Seed, Stream, Position);

    /// <summary>A generator in state <paramref name="state"/>.</summary>
    public static RandomStream FromState(RandomStreamState state)
    {
        var random = new RandomStream(state.Seed, state.Stream);
        random.Position = state.Position;
        return random;
    }

    /// <summary>Puts this generator into state <paramref name="state"/> (seed and stream included).</summary>
    public void Restore(RandomStreamState state)
    {
        Seed = state.Seed;
        Stream = state.Stream;
        Position = state.Position;
        _key = PhiloxKey.From(state.Seed);
        _hasCached = false;
    }

    /// <summary>A new generator with the same seed, stream <paramref name="stream"/> and position 0 (this one is unchanged).</summary>
    public RandomStream ForStream(ulong stream) => new(Seed, stream);

    // ---- scalar draws --------------------------------------------------------------------------

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt32()
    {
        ulong blockIndex = Position >> 2;
        if (!_hasCached || blockIndex != _cachedBlockIndex)
        {
            _cached = Philox.Generate(_key, PhiloxBlock.FromHalves(blockIndex, Stream));
            _cachedBlockIndex = blockIndex;
            _hasCached = true;
        }
        uint value = _cached[(int)(Position & 3)];
        Position++;
        return value;
    }

    /// <summary>A uniform float in [0, 1): 24 random bits.</summary>
    public float NextFloat() => ToUnitFloat(NextUInt32());

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), exactly unbiased.</summary>
    /// <remarks>
    /// Rejection: 2^32 mod n of the 2^32 possible values are thrown away (the lowest ones), so the rest
    /// are a whole number of copies of 0..n−1 and <c>value mod n</c> is exactly uniform.
    /// </remarks>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive < 1)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "NextInt needs a bound of at least 1.");
        uint bound = (uint)maxExclusive;
        uint rejectBelow = (0u - bound) % bound; // = 2^32 mod bound, computed in 32-bit arithmetic
        uint value;
        do
            value = NextUInt32();
        while (value < rejectBelow);
        return (int)(value % bound);
    }

    /// <summary>A standard normal value (mean 0, standard deviation 1); uses 4 values (see the remarks).</summary>
    public float NextNormal()
    {
        uint a = NextUInt32(), b = NextUInt32(), c = NextUInt32(), d = NextUInt32();
        return (float)StandardNormal(a, b, c, d);
    }

    // ---- bulk draws ----------------------------------------------------------------------------

    /// <summary>Fills <paramref name="values"/> with U(low, high); element i = low + (high − low)·u, u the value at Position + i.</summary>
    /// <remarks>Rounding of the float product can land exactly on <paramref name="high"/> in rare cases.</remarks>
    public void FillUniform(Span<float> values, float low, float high)
    {
        Fill(values, FillKind.Uniform, low, high, default, default);
        Position += (ulong)values.Length;
    }

    /// <summary>
    /// Fills <paramref name="mask"/> with dropout's scaled keep-mask: element i is 1/(1 − <paramref name="rate"/>) when its
    /// 16 random bits h (the low or high half of the value at Position + ⌊i/2⌋, see the class remarks) give
    /// h·2^−16 ≥ <paramref name="rate"/>, else 0 (<see cref="UniformConversion.KeepThreshold"/>); the position advances by
    /// ⌈mask.Length/2⌉.
    /// </summary>
    /// <remarks>
    /// Why 16 bits and not a 24-bit uniform float: dropout is bound by its Philox draws (ten rounds of 32×32→64-bit
    /// multiplies per four values), and two elements per value halve them. The keep probability moves by less than
    /// 2^−16 (none for rates on that grid, such as 0.25 and 0.5): far below the noise of any batch's kept fraction.
    /// FlashAttention's dropout compares 8 bits per element. (Before this, element i used the value at Position + i.)
    /// </remarks>
    internal void FillDropoutMask(Span<float> mask, float rate)
    {
        Fill(mask, FillKind.DropoutMask, rate, 1f / (1f - rate), default, default);
        Position += ValuesFor(FillKind.DropoutMask, mask.Length);
    }

    /// <summary>
    /// Dropout's forward: y = x ⊙ mask with the mask's keep decisions drawn exactly as
    /// <see cref="FillDropoutMask(Span{float}, float)"/> draws them, kept as one bit per element in
    /// <paramref name="keepBits"/> (<see cref="Kernels.DropoutBits"/>) instead of a float mask: each 512-element piece's
    /// draws are used while in L1 (<see cref="DropoutPieceElements"/>), and only y and the bits are written.
    /// </summary>
    internal unsafe void FillDropoutBits(float rate, ReadOnlySpan<float> x, Span<float> y, Span<int> keepBits)
    {
        if (y.Length != x.Length || keepBits.Length < Kernels.DropoutBits.Length(x.Length))
            throw new ArgumentException($"Dropout: x has {x.Length} values, y {y.Length} and the keep bits {keepBits.Length} ints "
                + $"(at least {Kernels.DropoutBits.Length(x.Length)} needed).");
        fixed (float* px = x)
        fixed (int* bits = keepBits)
            Fill(y, FillKind.DropoutBits, rate, 1f / (1f - rate), (nint)px, (nint)bits);
        Position += ValuesFor(FillKind.DropoutBits, x.Length);
    }

    /// <summary>Fills <paramref name="values"/> with N(mean, std²); element i uses the four values at Position + 4i.</summary>
    public void FillNormal(Span<float> values, float mean, float std)
    {
        Fill(values, FillKind.Normal, mean, std, default, default);
        Position += 4 * (ulong)values.Length;
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates: every permutation equally likely).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        // Walk down from the end: swap item i with a uniformly chosen item among 0..i.
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    // ---- the per-element definitions and the parallel split ------------------------------------

    // DropoutMask fills a float mask; DropoutBits fills y = x ⊙ mask and the keep bits, from the same draws.
    private enum FillKind { Uniform, Normal, DropoutMask, DropoutBits }

    private static float ToUnitFloat(uint value) => (value >> 8) * FloatUnit;

    /// <summary>How many 32-bit values a fill of <paramref name="elements"/> elements uses (and the position advances by).
    /// A fill may be cut into ranges at any element, or at any even element for a dropout mask.</summary>
    private static ulong ValuesFor(FillKind kind, long elements) => kind switch
    {
        FillKind.Normal => 4 * (ulong)elements,
        FillKind.DropoutMask or FillKind.DropoutBits => (ulong)(elements + 1) / 2,
        _ => (ulong)elements,
    };

    /// <summary>Box–Muller on four 32-bit values (see the class remarks).</summary>
    private static double StandardNormal(uint a, uint b, uint c, uint d)
    {
        ulong bits1 = ((ulong)a << 21) | (b >> 11); // 53 bits
        ulong bits2 = ((ulong)c << 21) | (d >> 11);
        double u1 = (bits1 + 1) * DoubleUnit;       // (0, 1]
        double u2 = bits2 * DoubleUnit;             // [0, 1)
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    // DropoutBits: values is y, x the input and bits the keep bits (0 for every other kind).
    private unsafe void Fill(Span<float> values, FillKind kind, float a, float b, nint x, nint bits)
    {
        if (values.Length < ParallelThreshold || Parallelism.CurrentMaxThreads == 1)
        {
            FillRange(values, _key, Stream, Position, kind, a, b, (float*)x, (int*)bits);
            return;
        }
        fixed (float* start = values)
        {
            var job = t_job ??= new FillJob();
            job.Set((nint)start, values.Length, _key, Stream, Position, kind, a, b, x, bits);
            Parallelism.Run(job, Parallelism.CurrentMaxThreads);
        }
    }

    /// <summary>
    /// Fills <paramref name="values"/> as if it were a fill starting at <paramref name="position"/>: element i
    /// uses the values at position + i (uniform) or position + 4i … + 4i + 3 (normal). Any split of a fill
    /// into ranges, each started at its own position, gives the same bits.
    /// </summary>
    /// <paramref name="x"/> and <paramref name="bits"/> (<see cref="FillKind.DropoutBits"/> only, else null): the range's
    /// input, and its keep bits (the range starts on a multiple of 32 elements); values is then its y.
    private static unsafe void FillRange(Span<float> values, PhiloxKey key, ulong stream, ulong position, FillKind kind, float a, float b,
        float* x, int* bits)
    {
        // Chunks of ChunkValues values: 1,024 elements, 256 normals, or 2,048 mask elements (an even number, so each
        // chunk's mask starts on a whole value); dropout's forward in shorter pieces (DropoutPieceElements).
        int elementsPerChunk = kind switch
        {
            FillKind.Normal => ChunkValues / 4,
            FillKind.DropoutMask => 2 * ChunkValues,
            FillKind.DropoutBits => DropoutPieceElements,
            _ => ChunkValues,
        };
        uint threshold = kind is FillKind.DropoutMask or FillKind.DropoutBits ? UniformConversion.KeepThreshold(a) : 0;
        Span<uint> words = stackalloc uint[ChunkValues];
        for (int done = 0; done < values.Length; done += elementsPerChunk)
        {
            int count = Math.Min(elementsPerChunk, values.Length - done);
            Span<uint> chunk = words[..(int)ValuesFor(kind, count)];
            PhiloxLanes.Generate(key, stream, position + ValuesFor(kind, done), chunk);
            Span<float> target = values.Slice(done, count);
            if (kind == FillKind.Uniform)
                UniformConversion.ToUniform(chunk, target, a, b - a); // a = low, b = high
            else if (kind == FillKind.DropoutMask)
                UniformConversion.ToScaledMask(chunk, target, threshold, b); // a = rate, b = 1/(1 − rate)
            else if (kind == FillKind.DropoutBits)
                fixed (float* y = target) // done is a multiple of 512: whole ints of bits
                    Kernels.DropoutBits.Forward(chunk, threshold, b, x + done, y, bits + done / 32, count);
            else
            {
                for (int i = 0; i < count; i++) // a = mean, b = std
                    target[i] = (float)(a + (double)b * StandardNormal(chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]));
            }
        }
    }

    /// <summary>
    /// Writes the consecutive 32-bit values starting at <paramref name="position"/> into <paramref name="words"/>, one
    /// scalar Philox block at a time: the reference twin of <see cref="PhiloxLanes.Generate"/>.
    /// </summary>
    internal static void GenerateReference(PhiloxKey key, ulong stream, ulong position, Span<uint> words)
    {
        ulong blockIndex = position >> 2;
        int word = (int)(position & 3); // a range may start in the middle of a block
        int written = 0;
        while (written < words.Length)
        {
            PhiloxBlock block = Philox.Generate(key, PhiloxBlock.FromHalves(blockIndex, stream));
            for (; word < 4 && written < words.Length; word++)
                words[written++] = block[word];
            word = 0;
            blockIndex++;
        }
    }

    [ThreadStatic] private static FillJob? t_job;

    /// <summary>Splits a fill into one contiguous range per worker; each range starts at its own position.</summary>
    private sealed unsafe class FillJob : ParallelJob
    {
        private nint _start;
        private int _length;
        private PhiloxKey _key;
        private ulong _stream, _position;
        private FillKind _kind;
        private float _a, _b;
        private nint _x, _bits;

        public void Set(nint start, int length, PhiloxKey key, ulong stream, ulong position, FillKind kind, float a, float b, nint x, nint bits) =>
            (_start, _length, _key, _stream, _position, _kind, _a, _b, _x, _bits) = (start, length, key, stream, position, kind, a, b, x, bits);

        public override void RunWorker(int worker, int workerCount)
        {
            int from = Boundary(worker, workerCount), to = Boundary(worker + 1, workerCount);
            FillRange(new Span<float>((float*)_start + from, to - from), _key, _stream, _position + ValuesFor(_kind, from), _kind, _a, _b,
                _x == 0 ? null : (float*)_x + from, _bits == 0 ? null : (int*)_bits + from / 32);
        }

        /// <summary>Where worker w's range starts: an even share, rounded down to a multiple of 32 elements for dropout (two
        /// elements per value, 32 per int of keep bits); the end for w = workerCount.</summary>
        private int Boundary(int worker, int workerCount)
        {
            if (worker == workerCount)
                return _length;
            int at = (int)((long)_length * worker / workerCount);
            return _kind is FillKind.DropoutMask or FillKind.DropoutBits ? at & ~31 : at;
        }
    }
}

/// <summary>The complete state of a <see cref="RandomStream"/>: save it in a checkpoint, restore it with <see cref="RandomStream.FromState"/>.</summary>
/// <param name="Seed">The seed (Philox key).</param>
/// <param name="Stream">The stream id.</param>
/// <param name="Position">The number of 32-bit values already consumed.</param>
public readonly record struct RandomStreamState(ulong Seed, ulong Stream, ulong Position);
