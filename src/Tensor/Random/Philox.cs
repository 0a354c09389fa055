namespace NanoNet;

/// <summary>
/// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
/// a pure function from a 64-bit key and a 128-bit counter to 128 random-looking bits. The generator
/// behind PyTorch's, JAX's and cuRAND's GPU random numbers.
/// </summary>
/// <remarks>
/// <para>
/// A counter-based generator has no hidden state: the n-th block of a stream is simply
/// <c>Philox(key, n)</c>. Any element can be computed directly, so threads can fill disjoint ranges of
/// one stream independently, and a stream's full state is just (key, counter).
/// </para>
/// <para>
/// One round takes the four 32-bit words (c0, c1, c2, c3) and the key (k0, k1) and computes two 32×32→64-bit
/// products, hi/lo = M·c. The high halves are mixed with the key and the untouched words, the low halves
/// are passed through, and the pairs swap places:
/// <c>(c0, c1, c2, c3) ← (hi(M1·c2) ⊕ c1 ⊕ k0, lo(M1·c2), hi(M0·c0) ⊕ c3 ⊕ k1, lo(M0·c0))</c>.
/// Between rounds the key is bumped by two Weyl constants (the golden ratio and √3 − 1, scaled to 32 bits).
/// Ten rounds pass the BigCrush statistical test suite with a safety margin.
/// </para>
/// </remarks>
public static class Philox
{
    /// <summary>Number of rounds (the "-10" in Philox4x32-10).</summary>
    public const int Rounds = 10;

    // The paper's round multipliers, chosen for good avalanche of the high product halves.
    private const uint Multiplier0 = 0xD2511F53;
    private const uint Multiplier1 = 0xCD9E8D57;

    // The key schedule's Weyl increments: 2^32/φ and 2^32·(√3 − 1).
    private const uint Weyl0 = 0x9E3779B9;
    private const uint Weyl1 = 0xBB67AE85;

    /// <summary>Computes Philox4x32-10 of <paramref name="counter"/> under <paramref name="key"/>.</summary>
    public static PhiloxBlock Generate(PhiloxKey key, PhiloxBlock counter)
    {
        uint c0 = counter.X0, c1 = counter.X1, c2 = counter.X2, c3 = counter.X3;
        uint k0 = key.K0, k1 = key.K1;
        for (int round = 0; round < Rounds; round++)
        {
            ulong product0 = (ulong)Multiplier0 * c0;
            ulong product1 = (ulong)Multiplier1 * c2;
            uint next0 = (uint)(product1 >> 32) ^ c1 ^ k0;
            uint next1 = (uint)product1;
            uint next2 = (uint)(product0 >> 32) ^ c3 ^ k1;
            uint next3 = (uint)product0;
            (c0, c1, c2, c3) = (next0, next1, next2, next3);
            k0 += Weyl0; // wraps modulo 2^32, as intended
            k1 += Weyl1;
        }
        return new PhiloxBlock(c0, c1, c2, c3);
    }
}

/// <summary>A Philox key: two 32-bit words.</summary>
public readonly record struct PhiloxKey(uint K0, uint K1)
{
    /// <summary>The key whose words are the low and high halves of <paramref name="value"/>.</summary>
    public static PhiloxKey From(ulong value) => new((uint)value, (uint)(value >> 32));
}

/// <summary>Four 32-bit words: a Philox counter (input) or a block of random output.</summary>
public readonly record struct PhiloxBlock(uint X0, uint X1, uint X2, uint X3)
{
    /// <summary>Word <paramref name="index"/> (0..3).</summary>
    public uint this[int index] => index switch
    {
        0 => X0,
        1 => X1,
        2 => X2,
        3 => X3,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "A Philox block has words 0..3."),
    };

    /// <summary>The counter (low 64 bits, high 64 bits) = (<paramref name="low"/>, <paramref name="high"/>), little-endian words.</summary>
    public static PhiloxBlock FromHalves(ulong low, ulong high) =>
        new((uint)low, (uint)(low >> 32), (uint)high, (uint)(high >> 32));
}
