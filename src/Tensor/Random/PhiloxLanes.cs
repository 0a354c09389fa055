using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet;

/// <summary>
/// <see cref="Philox"/> for a range of consecutive blocks at once, several blocks per vector: the same
/// values, bit for bit, as the scalar <see cref="Philox.Generate"/> (its reference twin).
/// </summary>
/// <remarks>
/// <para>
/// <b>Blocks side by side, words in place.</b> A Vector128 holds one block's four words (c0, c1, c2, c3) in
/// output order, a Vector512 four consecutive blocks. A round needs M0·c0 and M1·c2 as full 64-bit products:
/// those are the even 32-bit lanes, which is exactly what x86's <c>vpmuludq</c> multiplies (lane pair
/// (2j, 2j + 1) ← lane 2j × multiplier 2j, as one 64-bit product). So one multiply gives, per block, the
/// 32-bit lanes (lo0, hi0, lo1, hi1) of product0 = M0·c0 and product1 = M1·c2. The round's output
/// (hi1 ⊕ c1 ⊕ k0, lo1, hi0 ⊕ c3 ⊕ k1, lo0) is those lanes reversed within each block, xor-ed with
/// (c1, 0, c3, 0) (the counter shifted right by 32 in 64-bit lanes) and with the key (k0, 0, k1, 0).
/// No transposition is needed before or after: the vector is stored as it is.
/// </para>
/// <para>
/// <b>Counters.</b> Block b's counter is (low 32 bits of b, high 32 bits of b, low and high of the stream): as
/// 64-bit lanes, (b, stream). Stepping to the next group adds the group's block count to the even 64-bit lanes,
/// so a carry from word 0 into word 1 happens as in the scalar <see cref="PhiloxBlock.FromHalves"/>.
/// </para>
/// </remarks>
internal static class PhiloxLanes
{
    private const uint Multiplier0 = 0xD2511F53, Multiplier1 = 0xCD9E8D57; // Philox's, as in Philox.cs
    private const uint Weyl0 = 0x9E3779B9, Weyl1 = 0xBB67AE85;

    /// <summary>
    /// Writes the consecutive 32-bit values starting at <paramref name="position"/> of stream
    /// <paramref name="stream"/> into <paramref name="words"/>: the value at position q is word q mod 4 of
    /// <c>Philox(key, (⌊q/4⌋, stream))</c>, as <see cref="RandomStream"/> defines it.
    /// </summary>
    public static void Generate(PhiloxKey key, ulong stream, ulong position, Span<uint> words)
    {
        ulong blockIndex = position >> 2;
        int written = 0;
        // A range that starts in the middle of a block: the rest of that block from the scalar generator.
        int skip = (int)(position & 3);
        if (skip != 0 && words.Length > 0)
        {
            PhiloxBlock first = Philox.Generate(key, PhiloxBlock.FromHalves(blockIndex, stream));
            for (int word = skip; word < 4 && written < words.Length; word++)
                words[written++] = first[word];
            blockIndex++;
        }
        ref uint target = ref MemoryMarshal.GetReference(words);
        if (Vector512.IsHardwareAccelerated)
            GenerateBlocks512(key, stream, ref blockIndex, ref target, ref written, words.Length);
        if (Vector256.IsHardwareAccelerated)
            GenerateBlocks256(key, stream, ref blockIndex, ref target, ref written, words.Length);
        if (Vector128.IsHardwareAccelerated)
            GenerateBlocks128(key, stream, ref blockIndex, ref target, ref written, words.Length);
        // The tail (fewer than four values, or no vector hardware): scalar blocks.
        while (written < words.Length)
        {
            PhiloxBlock block = Philox.Generate(key, PhiloxBlock.FromHalves(blockIndex, stream));
            for (int word = 0; word < 4 && written < words.Length; word++)
                words[written++] = block[word];
            blockIndex++;
        }
    }

    // ---- one width each: whole vectors of blocks while they fit --------------------------------

    private static void GenerateBlocks512(PhiloxKey key, ulong stream, ref ulong blockIndex, ref uint target, ref int written, int length)
    {
        const int Blocks = 4; // four blocks of four words per Vector512<uint>
        var counter = Vector512.Create(blockIndex, stream, blockIndex + 1, stream, blockIndex + 2, stream, blockIndex + 3, stream);
        var step = Vector512.Create(Blocks, 0, Blocks, 0, Blocks, 0, Blocks, 0UL);
        Vector512<uint> firstKey = Vector512.Create(key.K0, 0, key.K1, 0, key.K0, 0, key.K1, 0, key.K0, 0, key.K1, 0, key.K0, 0, key.K1, 0);
        Vector512<uint> weyl = Vector512.Create(Weyl0, 0, Weyl1, 0, Weyl0, 0, Weyl1, 0, Weyl0, 0, Weyl1, 0, Weyl0, 0, Weyl1, 0);
        Vector512<uint> multipliers = Vector512.Create(Multiplier0, 0, Multiplier1, 0, Multiplier0, 0, Multiplier1, 0,
            Multiplier0, 0, Multiplier1, 0, Multiplier0, 0, Multiplier1, 0);
        var reverseWords = Vector512.Create(3u, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
        // Four vectors (16 blocks) at a time: a round is a chain of multiply, shuffle and xor (about 5 cycles), so one
        // vector alone leaves the vector units idle; four independent chains keep them busy.
        for (; written <= length - 16 * Blocks; written += 16 * Blocks)
        {
            Vector512<uint> c0 = counter.AsUInt32(), c1 = (counter + step).AsUInt32();
            Vector512<uint> c2 = (counter + step + step).AsUInt32(), c3 = (counter + step + step + step).AsUInt32(), k = firstKey;
            for (int round = 0; round < Philox.Rounds; round++)
            {
                c0 = Round(c0, k, multipliers, reverseWords);
                c1 = Round(c1, k, multipliers, reverseWords);
                c2 = Round(c2, k, multipliers, reverseWords);
                c3 = Round(c3, k, multipliers, reverseWords);
                k += weyl;
            }
            c0.StoreUnsafe(ref target, (nuint)written);
            c1.StoreUnsafe(ref target, (nuint)(written + 4 * Blocks));
            c2.StoreUnsafe(ref target, (nuint)(written + 8 * Blocks));
            c3.StoreUnsafe(ref target, (nuint)(written + 12 * Blocks));
            counter += step + step + step + step;
            blockIndex += 4 * Blocks;
        }
        for (; written <= length - 4 * Blocks; written += 4 * Blocks)
        {
            Vector512<uint> c = counter.AsUInt32(), k = firstKey;
            for (int round = 0; round < Philox.Rounds; round++)
            {
                c = Round(c, k, multipliers, reverseWords);
                k += weyl;
            }
            c.StoreUnsafe(ref target, (nuint)written);
            counter += step;
            blockIndex += Blocks;
        }
    }

    /// <summary>One Philox round of four blocks: (hi1 ⊕ c1 ⊕ k0, lo1, hi0 ⊕ c3 ⊕ k1, lo0) per block (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Round(Vector512<uint> c, Vector512<uint> k, Vector512<uint> multipliers, Vector512<uint> reverseWords)
    {
        Vector512<uint> products = MultiplyEvenLanes(c, multipliers).AsUInt32(); // (lo0, hi0, lo1, hi1) per block
        Vector512<uint> passed = (c.AsUInt64() >>> 32).AsUInt32();                 // (c1, 0, c3, 0)
        return Vector512.Shuffle(products, reverseWords) ^ passed ^ k;
    }

    private static void GenerateBlocks256(PhiloxKey key, ulong stream, ref ulong blockIndex, ref uint target, ref int written, int length)
    {
        const int Blocks = 2;
        var counter = Vector256.Create(blockIndex, stream, blockIndex + 1, stream);
        var step = Vector256.Create(Blocks, 0, Blocks, 0UL);
        Vector256<uint> firstKey = Vector256.Create(key.K0, 0, key.K1, 0, key.K0, 0, key.K1, 0);
        Vector256<uint> weyl = Vector256.Create(Weyl0, 0, Weyl1, 0, Weyl0, 0, Weyl1, 0);
        Vector256<uint> multipliers = Vector256.Create(Multiplier0, 0, Multiplier1, 0, Multiplier0, 0, Multiplier1, 0);
        var reverseWords = Vector256.Create(3u, 2, 1, 0, 7, 6, 5, 4);
        // Four vectors (8 blocks) at a time, four independent chains, as at 512 bits: one vector's ten rounds are a single
        // chain of multiply, shuffle and xor, which left a Zen 3 core's vector units three quarters idle (the Dropout
        // mask of 262,144 values 0.25 ms, forty-eighth sitting).
        for (; written <= length - 16 * Blocks; written += 16 * Blocks)
        {
            Vector256<uint> c0 = counter.AsUInt32(), c1 = (counter + step).AsUInt32();
            Vector256<uint> c2 = (counter + step + step).AsUInt32(), c3 = (counter + step + step + step).AsUInt32(), k = firstKey;
            for (int round = 0; round < Philox.Rounds; round++)
            {
                c0 = Round(c0, k, multipliers, reverseWords);
                c1 = Round(c1, k, multipliers, reverseWords);
                c2 = Round(c2, k, multipliers, reverseWords);
                c3 = Round(c3, k, multipliers, reverseWords);
                k += weyl;
            }
            c0.StoreUnsafe(ref target, (nuint)written);
            c1.StoreUnsafe(ref target, (nuint)(written + 4 * Blocks));
            c2.StoreUnsafe(ref target, (nuint)(written + 8 * Blocks));
            c3.StoreUnsafe(ref target, (nuint)(written + 12 * Blocks));
            counter += step + step + step + step;
            blockIndex += 4 * Blocks;
        }
        for (; written <= length - 4 * Blocks; written += 4 * Blocks)
        {
            Vector256<uint> c = counter.AsUInt32(), k = firstKey;
            for (int round = 0; round < Philox.Rounds; round++)
            {
                c = Round(c, k, multipliers, reverseWords);
                k += weyl;
            }
            c.StoreUnsafe(ref target, (nuint)written);
            counter += step;
            blockIndex += Blocks;
        }
    }

    /// <summary>One Philox round of two blocks (the 512-bit <see cref="Round(Vector512{uint}, Vector512{uint}, Vector512{uint}, Vector512{uint})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> c, Vector256<uint> k, Vector256<uint> multipliers, Vector256<uint> reverseWords)
    {
        Vector256<uint> products = MultiplyEvenLanes(c, multipliers).AsUInt32();
        Vector256<uint> passed = (c.AsUInt64() >>> 32).AsUInt32();
        return Vector256.Shuffle(products, reverseWords) ^ passed ^ k;
    }

    private static void GenerateBlocks128(PhiloxKey key, ulong stream, ref ulong blockIndex, ref uint target, ref int written, int length)
    {
        var counter = Vector128.Create(blockIndex, stream);
        Vector128<uint> firstKey = Vector128.Create(key.K0, 0, key.K1, 0);
        Vector128<uint> weyl = Vector128.Create(Weyl0, 0, Weyl1, 0);
        Vector128<uint> multipliers = Vector128.Create(Multiplier0, 0, Multiplier1, 0);
        for (; written <= length - 4; written += 4)
        {
            Vector128<uint> c = counter.AsUInt32(), k = firstKey;
            for (int round = 0; round < Philox.Rounds; round++)
            {
                Vector128<uint> products = MultiplyEvenLanes(c, multipliers).AsUInt32();
                Vector128<uint> passed = (c.AsUInt64() >>> 32).AsUInt32();
                c = Vector128.Shuffle(products, Vector128.Create(3u, 2, 1, 0)) ^ passed ^ k;
                k += weyl;
            }
            c.StoreUnsafe(ref target, (nuint)written);
            counter += Vector128.Create(1UL, 0);
            blockIndex++;
        }
    }

    // ---- the 32×32 → 64-bit multiply of the even lanes -----------------------------------------

    /// <summary>
    /// 64-bit lane j = (32-bit lane 2j of <paramref name="a"/>) × (32-bit lane 2j of <paramref name="b"/>), the full
    /// product; the odd lanes are ignored. One <c>vpmuludq</c> on x86; elsewhere the portable twin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<ulong> MultiplyEvenLanes(Vector512<uint> a, Vector512<uint> b) =>
        Avx512F.IsSupported ? Avx512F.Multiply(a, b) : MultiplyEvenLanesPortable(a, b);

    /// <inheritdoc cref="MultiplyEvenLanes(Vector512{uint}, Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<ulong> MultiplyEvenLanes(Vector256<uint> a, Vector256<uint> b) =>
        Avx2.IsSupported ? Avx2.Multiply(a, b) : MultiplyEvenLanesPortable(a, b);

    /// <inheritdoc cref="MultiplyEvenLanes(Vector512{uint}, Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<ulong> MultiplyEvenLanes(Vector128<uint> a, Vector128<uint> b) =>
        Sse2.IsSupported ? Sse2.Multiply(a, b) : MultiplyEvenLanesPortable(a, b);

    /// <summary>The portable twin: zero-extend the even lanes to 64 bits and multiply as 64-bit lanes (the product of
    /// two values below 2^32 fits).</summary>
    internal static Vector512<ulong> MultiplyEvenLanesPortable(Vector512<uint> a, Vector512<uint> b) =>
        (a.AsUInt64() & Vector512.Create(0xFFFF_FFFFUL)) * (b.AsUInt64() & Vector512.Create(0xFFFF_FFFFUL));

    /// <inheritdoc cref="MultiplyEvenLanesPortable(Vector512{uint}, Vector512{uint})"/>
    internal static Vector256<ulong> MultiplyEvenLanesPortable(Vector256<uint> a, Vector256<uint> b) =>
        (a.AsUInt64() & Vector256.Create(0xFFFF_FFFFUL)) * (b.AsUInt64() & Vector256.Create(0xFFFF_FFFFUL));

    /// <inheritdoc cref="MultiplyEvenLanesPortable(Vector512{uint}, Vector512{uint})"/>
    internal static Vector128<ulong> MultiplyEvenLanesPortable(Vector128<uint> a, Vector128<uint> b) =>
        (a.AsUInt64() & Vector128.Create(0xFFFF_FFFFUL)) * (b.AsUInt64() & Vector128.Create(0xFFFF_FFFFUL));
}
