using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The recurrent backward passes set gradients below <see cref="TinyFloats.Floor"/> (2^−100) to zero, so a
/// gradient decaying back through a long sequence never reaches the subnormal floats (100x slower on Intel cores), and
/// the lane operation that does it (<see cref="ILanes{TSelf}.ZeroWhereSmaller"/>) agrees bit for bit at every width.
/// </summary>
public class GradientFloorTests
{
    private static readonly float[] Values =
    [
        0f, -0f, 1f, -1f, TinyFloats.Floor, -TinyFloats.Floor,
        TinyFloats.Floor * 0.75f, -TinyFloats.Floor * 0.75f, 1e-35f, -1e-35f, 1e-40f, -1e-40f,
        float.Epsilon, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
    ];

    private static float[] Expected() =>
        [.. Values.Select(v => MathF.Abs(v) < TinyFloats.Floor ? (float.IsNegative(v) ? -0f : 0f) : v)];

    [Test]
    public void EveryWidthZeroesTheSameLanesAndKeepsTheirSign()
    {
        float[] expected = Expected();
        Assert.That(Run<Lanes1>(), Is.EqualTo(Bits(expected)), "one lane");
        if (Vector128.IsHardwareAccelerated)
            Assert.That(Run<Lanes128>(), Is.EqualTo(Bits(expected)), "128-bit");
        if (Vector256.IsHardwareAccelerated)
            Assert.That(Run<Lanes256>(), Is.EqualTo(Bits(expected)), "256-bit");
        if (Vector512.IsHardwareAccelerated)
            Assert.That(Run<Lanes512>(), Is.EqualTo(Bits(expected)), "512-bit");
        Assert.That(expected[4], Is.EqualTo(TinyFloats.Floor), "the floor itself is kept");
        Assert.That(float.IsNaN(expected[13]) && float.IsPositiveInfinity(expected[14]), Is.True, "NaN and ∞ pass through");
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

    private static int[] Run<T>() where T : struct, ILanes<T>
    {
        float[] input = [.. Values], output = new float[input.Length];
        for (int i = 0; i + T.Count <= input.Length; i += T.Count)
            T.Store(TinyFloats.Flush(T.Load(ref input[0], (nuint)i)), ref output[0], (nuint)i);
        return Bits(output);
    }

    /// <summary>
    /// A gradient that enters at the last of 80 steps and shrinks ~20x per step back (small recurrent and input
    /// weights): without the floor its tail passes through the subnormals (and rounds away in them); with it, every
    /// gradient is zero or at least ~1e−33, and the recent steps still carry it.
    /// </summary>
    [TestCase("lstm")]
    [TestCase("gru")]
    [TestCase("rnn")]
    public void ADecayingGradientNeverBecomesSubnormal(string kind)
    {
        const int n = 8, t = 80, d = 16, u = 16;
        int gates = kind switch { "lstm" => 4, "gru" => 3, _ => 1 };
        var x = Tensor.RandomUniform([n, t, d], -1, 1, 1).AsParameter();
        var w = Tensor.RandomUniform([d, gates * u], -0.05f, 0.05f, 2).AsParameter();
        var r = Tensor.RandomUniform([u, gates * u], -0.05f, 0.05f, 3).AsParameter();
        // The LSTM's forget gate and the GRU's update gate biased shut (σ(−3) ≈ 0.05): the paths that carry the state
        // unchanged would otherwise keep half the gradient per step.
        float[] biasValues = Tensor.RandomUniform([(kind == "gru" ? 2 : 1) * gates * u], -0.1f, 0.1f, 4).ToArray();
        int carried = kind switch { "lstm" => u, "gru" => 0, _ => -1 }; // the LSTM's f after i; the GRU's z first
        for (int j = carried; carried >= 0 && j < carried + u; j++)
            biasValues[j] = -3f;
        var b = Tensor.FromArray(biasValues, kind == "gru" ? [2, gates * u] : [gates * u]).AsParameter();
        Tensor y = kind switch
        {
            "lstm" => Ops.Lstm(x, w, r, b),
            "gru" => Ops.Gru(x, w, r, b),
            _ => Ops.SimpleRnn(x, w, r, b),
        };
        Ops.Sum(y).Backward();
        float[] dx = x.Grad!.ToArray();
        foreach (float[] gradient in new[] { dx, w.Grad!.ToArray(), r.Grad!.ToArray(), b.Grad!.ToArray() })
            Assert.That(gradient.Count(float.IsSubnormal), Is.Zero, "no subnormal gradient");
        float Largest(int step) => Enumerable.Range(0, n * d).Max(i => MathF.Abs(dx[(i / d * t + step) * d + i % d]));
        Assert.That(Largest(t - 1), Is.GreaterThan(1e-4f), "the last step's input gets a real gradient");
        Assert.That(Largest(0), Is.Zero, "80 steps back it has decayed below the floor: exactly zero");
    }
}
