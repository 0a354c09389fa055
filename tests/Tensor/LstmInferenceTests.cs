using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="LstmInference"/>, the LSTM forward pass that keeps nothing for backward (taken by <c>Ops.Lstm</c> when no
/// tape records): bitwise the training forward's output and final states, with and without a mask, going backwards,
/// from a given state, returning the sequence or the last step, and at 1, 2 and 3 threads (uneven bands).
/// </summary>
public class LstmInferenceTests
{
    private const int N = 37, T = 9, D = 24, U = 40;

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (bool returnSequences in (bool[])[false, true])
            foreach (bool masked in (bool[])[false, true])
                foreach (bool goBackwards in (bool[])[false, true])
                    foreach (bool initial in (bool[])[false, true])
                        yield return new TestCaseData(returnSequences, masked, goBackwards, initial);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesTheTrainingForwardBitForBit(bool returnSequences, bool masked, bool goBackwards, bool initial)
    {
        float[][] training = Run(returnSequences, masked, goBackwards, initial, record: true, threads: 1);
        foreach (int threads in (int[])[1, 2, 3])
        {
            float[][] streamed = Run(returnSequences, masked, goBackwards, initial, record: false, threads);
            for (int i = 0; i < training.Length; i++)
            {
                Assert.That(streamed[i], Has.Length.EqualTo(training[i].Length));
                for (int j = 0; j < training[i].Length; j++)
                    if (BitConverter.SingleToInt32Bits(streamed[i][j]) != BitConverter.SingleToInt32Bits(training[i][j]))
                        Assert.Fail($"output {i}, element {j}: {training[i][j]} training, {streamed[i][j]} streamed at {threads} thread(s)");
            }
        }
    }

    [Test]
    public void AStatefulCallCarriesTheSameStateAsTheTrainingPath()
    {
        (Tensor x, Tensor w, Tensor r, Tensor b) = Inputs();
        var streamedState = new LstmState(N, U);
        var trainingState = new LstmState(N, U);
        for (int call = 0; call < 2; call++)
        {
            Tensor streamed;
            using (Tape.NoGrad())
                streamed = Ops.Lstm(x, w, r, b, state: streamedState);
            x.RequiresGrad = true;
            Tensor trained = Ops.Lstm(x, w, r, b, state: trainingState);
            x.RequiresGrad = false;
            Assert.That(streamed.ToArray(), Is.EqualTo(trained.ToArray()), $"call {call}");
            Assert.That(streamedState.Cell.ToArray(), Is.EqualTo(trainingState.Cell.ToArray()), $"call {call}");
        }
    }

    private static (Tensor X, Tensor W, Tensor R, Tensor B) Inputs() => (
        Tensor.RandomUniform([N, T, D], -1f, 1f, 31),
        Tensor.RandomUniform([D, 4 * U], -0.3f, 0.3f, 32),
        Tensor.RandomUniform([U, 4 * U], -0.3f, 0.3f, 33),
        Tensor.RandomUniform([4 * U], -0.3f, 0.3f, 34));

    private static float[][] Run(bool returnSequences, bool masked, bool goBackwards, bool initial, bool record, int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            (Tensor x, Tensor w, Tensor r, Tensor b) = Inputs();
            x.RequiresGrad = record; // recording keeps the training buffers; not recording streams
            Tensor? mask = null;
            if (masked)
            {
                var values = new float[N * T];
                for (int row = 0; row < N; row++)
                    for (int step = 0; step < T; step++)
                        values[row * T + step] = step < row % 4 || step == row % T ? 0f : 1f;
                mask = Tensor.FromArray(values, N, T);
            }
            Tensor? h0 = initial ? Tensor.RandomUniform([N, U], -1f, 1f, 35) : null;
            Tensor? c0 = initial ? Tensor.RandomUniform([N, U], -1f, 1f, 36) : null;
            RecurrentOutputs outputs = Ops.LstmWithStates(x, w, r, b, returnSequences, mask, h0, c0, goBackwards);
            return [outputs.Output.ToArray(), outputs.Hidden!.ToArray(), outputs.Cell!.ToArray()];
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }
}
