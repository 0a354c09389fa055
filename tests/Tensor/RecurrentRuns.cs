using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// One recurrent layer (LSTM, GRU or simple RNN) forward and backward with every option at once, for the tests that
/// require a way of splitting the work (bands of rows, ranges of units) to leave the bits as they are at 1 thread.
/// </summary>
internal static class RecurrentRuns
{
    /// <summary>
    /// <paramref name="kind"/> ("lstm", "gru" or "rnn") over N = <paramref name="n"/> sequences of T = <paramref name="t"/>
    /// steps at <paramref name="threads"/> threads: its own mask per sequence (pre-padding of row mod 4 steps and a hole at
    /// step row mod T), going backwards, an initial state, input dropout and, when asked, recurrent dropout; then a loss
    /// over the sequence, the final h and (LSTM) c, backward. Returns the output, the final h and every gradient, and the
    /// forward passes and backward chunks the call ran split by units (<see cref="RecurrentStepJob.UnitSplitRuns"/>,
    /// <see cref="RecurrentStepJob.BackwardUnitSplitRuns"/>). <paramref name="inputGradient"/> false leaves x without a
    /// gradient (the backward then makes no dX).
    /// </summary>
    public static float[][] ForwardAndBackward(string kind, int n, int t, int d, int u, int threads, bool recurrentDropout, int seed,
        out (int Forward, int Backward) unitSplitRuns, bool inputGradient = true)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            Parallelism.ResetWidestRegion();
            int gates = kind switch { "lstm" => 4, "gru" => 3, _ => 1 };
            Tensor x = Tensor.RandomUniform([n, t, d], -1f, 1f, seed);
            Tensor w = Tensor.RandomUniform([d, gates * u], -0.3f, 0.3f, seed + 1), r = Tensor.RandomUniform([u, gates * u], -0.3f, 0.3f, seed + 2);
            Tensor b = Tensor.RandomUniform(kind == "gru" ? [2, 3 * u] : [gates * u], -0.3f, 0.3f, seed + 3);
            Tensor h0 = Tensor.RandomUniform([n, u], -1f, 1f, seed + 4), c0 = Tensor.RandomUniform([n, u], -1f, 1f, seed + 5);
            Tensor[] all = kind == "lstm" ? [x, w, r, b, h0, c0] : [x, w, r, b, h0];
            foreach (Tensor tensor in all)
                tensor.RequiresGrad = true;
            x.RequiresGrad = inputGradient;
            if (!inputGradient)
                all = all[1..];
            Tensor mask = Mask(n, t);
            var random = new RandomStream((ulong)seed + 6);
            Tensor? inputDropout = Ops.DropoutMask(n, d, 0.2f, random);
            Tensor? hiddenDropout = recurrentDropout ? Ops.DropoutMask(n, u, 0.2f, random) : null;
            int before = RecurrentStepJob.UnitSplitRuns;
            RecurrentOutputs outputs = kind switch
            {
                "lstm" => Ops.LstmWithStates(x, w, r, b, returnSequences: true, mask, h0, c0, goBackwards: true, inputDropout, hiddenDropout),
                "gru" => Ops.GruWithState(x, w, r, b, returnSequences: true, mask, h0, goBackwards: true, inputDropout, hiddenDropout),
                _ => Ops.SimpleRnnWithState(x, w, r, b, ActivationFunction.Tanh, returnSequences: true, mask, h0, goBackwards: true,
                    inputDropout, hiddenDropout),
            };
            int forwardSplits = RecurrentStepJob.UnitSplitRuns - before, backwardBefore = RecurrentStepJob.BackwardUnitSplitRuns;
            Tensor loss = Ops.Sum(Ops.Multiply(outputs.Output, Tensor.RandomUniform([n, t, u], -1f, 1f, seed + 7)));
            loss = Ops.Add(loss, Ops.Sum(Ops.Multiply(outputs.Hidden!, Tensor.RandomUniform([n, u], -1f, 1f, seed + 8))));
            if (outputs.Cell is { } cell)
                loss = Ops.Add(loss, Ops.Sum(Ops.Multiply(cell, Tensor.RandomUniform([n, u], -1f, 1f, seed + 9))));
            loss.Backward();
            unitSplitRuns = (forwardSplits, RecurrentStepJob.BackwardUnitSplitRuns - backwardBefore);
            return [outputs.Output.ToArray(), outputs.Hidden!.ToArray(), .. all.Select(tensor => tensor.Grad!.ToArray())];
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>N×T, 0 where a step is skipped: pre-padding of (row mod 4) steps and a hole at step (row mod T).</summary>
    public static Tensor Mask(int n, int t)
    {
        var values = new float[n * t];
        for (int row = 0; row < n; row++)
            for (int step = 0; step < t; step++)
                values[row * t + step] = step < row % 4 || step == row % t ? 0f : 1f;
        return Tensor.FromArray(values, n, t);
    }

    /// <summary>Fails naming the first element whose bits differ (−0 against +0, NaN payloads included).</summary>
    public static void AssertBitwise(float[][] actual, float[][] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(actual[i], Has.Length.EqualTo(expected[i].Length), $"{what}: array {i}");
            for (int j = 0; j < expected[i].Length; j++)
                if (BitConverter.SingleToInt32Bits(actual[i][j]) != BitConverter.SingleToInt32Bits(expected[i][j]))
                    Assert.Fail($"{what}: array {i}, element {j}: {actual[i][j]}, expected {expected[i][j]}");
        }
    }
}
