using NanoNet.Autograd;

namespace NanoNet.Tests;

/// <summary>
/// In a backward pass that does not retain the graph (<see cref="Tape.ConsumingGraph"/>), the LSTM ops and the GRU write
/// a gate gradient over the gates their forward saved instead of into a new buffer: the gradients are the same bits,
/// and a pass that retains the graph leaves the gates for the next pass.
/// </summary>
public class RecurrentGatesOverwrittenTests
{
    private const int N = 9, T = 7, D = 5, U = 12, Vocabulary = 11;

    [Test]
    public void ConsumingGraphHoldsOnlyInsideAPassThatDoesNotRetainTheGraph()
    {
        var seen = new List<bool>();
        var x = Tensor.FromArray([1f, 2f], 2).AsParameter();
        Tensor loss = Ops.Sum(Probe(x, seen));
        Assert.That(Tape.ConsumingGraph, Is.False, "outside a pass");
        loss.Backward(retainGraph: true);
        loss.Backward();
        Assert.That(seen, Is.EqualTo(new[] { false, true }));
        Assert.That(Tape.ConsumingGraph, Is.False, "after a pass");
    }

    [TestCase("lstm")]
    [TestCase("lstm on embedded ids")]
    [TestCase("gru")]
    public void TheGradientsOfAConsumingPassAreThoseOfARetainingOne(string op)
    {
        float[][] retained = Gradients(op, retain: true), consumed = Gradients(op, retain: false);
        for (int i = 0; i < retained.Length; i++)
            Assert.That(consumed[i], Is.EqualTo(retained[i]), $"gradient {i}"); // exact: the same bits
    }

    [TestCase("lstm")]
    [TestCase("lstm on embedded ids")]
    [TestCase("gru")]
    public void ASecondPassThroughARetainedGraphGivesTheSameGradientsAgain(string op)
    {
        (Tensor loss, Tensor[] parameters) = Forward(op);
        loss.Backward(retainGraph: true);
        float[][] once = [.. parameters.Select(p => p.Grad!.ToArray())];
        foreach (Tensor parameter in parameters)
            parameter.Grad!.Span.Clear();
        loss.Backward(); // reads the saved gates again: the first pass must have left them
        for (int i = 0; i < parameters.Length; i++)
            Assert.That(parameters[i].Grad!.ToArray(), Is.EqualTo(once[i]), $"gradient {i}"); // exact: the same bits
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
    }

    private static float[][] Gradients(string op, bool retain)
    {
        (Tensor loss, Tensor[] parameters) = Forward(op);
        loss.Backward(retainGraph: retain);
        return [.. parameters.Select(p => p.Grad!.ToArray())];
    }

    /// <summary>A fixed LSTM (masked ids through an embedding, or a float sequence) or GRU, and a loss that weighs every output.</summary>
    private static (Tensor Loss, Tensor[] Parameters) Forward(string op)
    {
        int gates = op == "gru" ? 3 : 4;
        var random = new Random(5);
        Tensor Values(params int[] shape) => Tensor.FromArray(
            [.. Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => random.NextSingle() - 0.5f)], shape);
        Tensor w = Values(D, gates * U).AsParameter(), r = Values(U, gates * U).AsParameter();
        Tensor b = (op == "gru" ? Values(2, gates * U) : Values(gates * U)).AsParameter(); // the GRU: input and recurrent biases
        Tensor y;
        Tensor input;
        if (op == "lstm on embedded ids")
        {
            // Ids 0 (masked) at the end of some rows, a few ids repeated.
            float[] ids = [.. Enumerable.Range(0, N * T).Select(i => i % T >= T - i / T % 3 ? 0f : 1 + random.Next(Vocabulary - 1))];
            input = Values(Vocabulary, D).AsParameter();
            y = Ops.LstmOnEmbedding(Tensor.FromArray(ids, N, T), input, w, r, b, returnSequences: true, maskZero: true);
        }
        else
        {
            input = Values(N, T, D).AsParameter();
            y = op == "gru" ? Ops.Gru(input, w, r, b, returnSequences: true) : Ops.Lstm(input, w, r, b, returnSequences: true);
        }
        Tensor loss = Ops.Sum(Ops.Multiply(y, Values(N, T, U)));
        return (loss, [input, w, r, b]);
    }

    /// <summary>y = x, recording in its backward whether the pass consumes the graph.</summary>
    private static Tensor Probe(Tensor x, List<bool> seen)
    {
        Tensor y = Tensor.EmptyLike(x);
        x.Span.CopyTo(y.Span);
        if (Tape.ShouldRecord(x))
            Tape.Record(new ProbeBackward(y, x, seen), x);
        return y;
    }

    private sealed class ProbeBackward(Tensor y, Tensor x, List<bool> seen) : TapeEntry(y)
    {
        public override void Backward(Tensor dY)
        {
            seen.Add(Tape.ConsumingGraph);
            Span<float> dX = x.EnsureGrad().Span;
            for (int i = 0; i < dX.Length; i++)
                dX[i] += dY.Span[i];
        }
    }
}
