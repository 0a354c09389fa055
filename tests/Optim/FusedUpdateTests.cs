using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// The fused update runs Vector512/256/128 loops and a scalar tail. The hand-value tests use 3 elements
/// (scalar tail only); here long tensors, which go through the vector loops, must give bit-identical
/// results to the same elements updated one by one as separate 1-element parameters (scalar only).
/// </summary>
public class FusedUpdateTests
{
    private static readonly int[] Lengths = [1, 3, 4, 5, 8, 15, 16, 17, 31, 33, 64, 100];

    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void VectorPathMatchesScalarPathBitForBit(Func<Optimizer> create)
    {
        foreach (bool transform in new[] { false, true })
            foreach (int n in Lengths)
                CompareWholeWithElementwise(create, n, transform);
    }

    private static void CompareWholeWithElementwise(Func<Optimizer> create, int n, bool transform)
    {
        var random = new Random(n);
        float[] start = Values(random, n, zeros: true);
        float[][] gradients = [Values(random, n, false), Values(random, n, false), Values(random, n, false)];

        Optimizer whole = Configure(create(), transform), elementwise = Configure(create(), transform);
        Tensor vector = HandSteps.Named("whole", start);
        List<Tensor> singles = start.Select((v, i) => HandSteps.Named($"element {i}", v)).ToList();
        foreach (float[] g in gradients)
        {
            HandSteps.SetGradient(vector, g);
            for (int i = 0; i < n; i++)
                HandSteps.SetGradient(singles[i], g[i]);
            whole.Step([vector]);
            elementwise.Step(singles);
        }

        for (int i = 0; i < n; i++)
            Assert.That(BitConverter.SingleToInt32Bits(vector[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(singles[i][0])),
                $"n = {n}, transform = {transform}, element {i}: {vector[i]} vs {singles[i][0]}");
        // The state must agree as well.
        var wholeState = whole.GetState();
        foreach (OptimizerStateBuffer buffer in elementwise.GetState())
        {
            int element = singles.FindIndex(p => p.Name == buffer.ParameterName);
            float fromWhole = wholeState.Single(b => b.StateName == buffer.StateName).Values.Span[element];
            Assert.That(BitConverter.SingleToInt32Bits(fromWhole), Is.EqualTo(BitConverter.SingleToInt32Bits(buffer.Values.Span[0])),
                $"n = {n}, state {buffer.StateName}[{element}]");
        }
    }

    // Clipping by value and L1/L2 are element-wise, so both runs see the same transform. (Global-norm
    // clipping is not: its norm spans all parameters; see RegularizationTests.)
    private static Optimizer Configure(Optimizer optimizer, bool transform)
    {
        if (transform)
        {
            optimizer.ClipValue = 0.75f;
            optimizer.L1 = 0.01f;
            optimizer.L2 = 0.05f;
        }
        return optimizer;
    }

    private static float[] Values(Random random, int n, bool zeros)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = zeros && i % 7 == 3 ? 0f : (float)(random.NextDouble() * 4 - 2);
        return values;
    }
}
