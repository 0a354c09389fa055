using NanoNet.Data;
using NanoNet.Kernels;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// A model's Embedding → LSTM pair runs as one op (<see cref="Ops.LstmOnEmbedding"/>) when the LSTM is the embedding's
/// only reader: at inference the same bits as the layers called one after the other (mask, returned sequence and the
/// layers after it included), at 1 and 2 threads, in Predict, single-sample Predict's batch and Evaluate; in training
/// (no dropout) the weights follow the two calls' within rounding; not when the embedding has another reader.
/// </summary>
[NonParallelizable] // switches Lstm.RunsOnEmbeddingInTraining, which is process-wide
public class EmbeddingLstmFusionTests
{
    private const int T = 11, Vocabulary = 40, Batch = 19;

    [TestCase(1)]
    [TestCase(2)]
    public void PredictMatchesTheLayersCalledOneAfterTheOther(int threads)
    {
        var embedding = new Embedding(Vocabulary, 16, maskZero: true);
        var first = new Lstm(12, returnSequences: true);
        var second = new Lstm(8, goBackwards: true);
        var dense = new Dense(3, ActivationFunction.Softmax);
        var model = new Sequential([T], embedding, first, second, dense) { MaxThreads = threads };
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 3);
        Tensor ids = Ids(Batch);

        int runs = LstmInference.OnEmbeddingRuns;
        Tensor predicted = model.Predict(ids);
        Assert.That(LstmInference.OnEmbeddingRuns, Is.EqualTo(runs + 1), "the pair ran as one op");

        Tensor expected;
        using (Parallelism.LimitThreads(threads))
            expected = dense.Forward(second.Forward(first.Forward(embedding.Forward(ids))));
        Assert.That(predicted.ToArray(), Is.EqualTo(expected.ToArray()).Using<float>((a, b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b)));
    }

    [Test]
    public void EvaluateAndTrainingTakeTheFusedPairButNotWithDropout()
    {
        var model = new Sequential([T], new Embedding(Vocabulary, 16), new Lstm(12), new Dense(2, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 4);
        Dataset data = Data();
        int runs = LstmInference.OnEmbeddingRuns, trainingRuns = LstmKernels.OnEmbeddingRuns;
        model.Fit(data, epochs: 1, batchSize: Batch, verbose: 0);
        Assert.That(LstmKernels.OnEmbeddingRuns, Is.EqualTo(trainingRuns + 1), "training runs the pair as one op");
        model.Evaluate(data, batchSize: Batch);
        Assert.That(LstmInference.OnEmbeddingRuns, Is.EqualTo(runs + 1), "evaluation runs them as one op");

        var dropped = new Sequential([T], new Embedding(Vocabulary, 16), new Lstm(12, dropout: 0.2f), new Dense(2, ActivationFunction.Softmax));
        dropped.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 4);
        trainingRuns = LstmKernels.OnEmbeddingRuns;
        dropped.Fit(data, epochs: 1, batchSize: Batch, verbose: 0);
        Assert.That(LstmKernels.OnEmbeddingRuns, Is.EqualTo(trainingRuns), "an input dropout mask per sequence: two calls");
    }

    [TestCase(1, false)]
    [TestCase(2, true)]
    public void TrainingTheFusedPairFollowsTheTwoCalls(int threads, bool maskZero)
    {
        // Three epochs of SGD (sparse table rows) with and without the fused pair: the weights stay equal within rounding.
        float[][] Train(bool fused)
        {
            bool saved = Lstm.RunsOnEmbeddingInTraining;
            Lstm.RunsOnEmbeddingInTraining = fused;
            try
            {
                var embedding = new Embedding(Vocabulary, 16, maskZero: maskZero);
                var model = new Sequential([T], embedding, new Lstm(12, returnSequences: true), new Lstm(8), new Dense(2, ActivationFunction.Softmax))
                    { MaxThreads = threads };
                model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy(), seed: 6);
                model.Fit(Data(), epochs: 3, batchSize: 10, verbose: 0);
                return [.. model.Weights.Select(p => p.ToArray())];
            }
            finally
            {
                Lstm.RunsOnEmbeddingInTraining = saved;
            }
        }
        float[][] expected = Train(fused: false), actual = Train(fused: true);
        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-4f), $"weight {i}");
    }

    [Test]
    public void AnEmbeddingWithAnotherReaderIsNotFused()
    {
        var input = new Input([T]);
        var embedding = new Embedding(Vocabulary, 16);
        SymbolicTensor embedded = embedding.Call(input);
        SymbolicTensor recurrent = new Lstm(8).Call(embedded);
        SymbolicTensor pooled = new GlobalAveragePooling1D().Call(embedded);
        SymbolicTensor output = new Dense(2, ActivationFunction.Softmax).Call(new Concatenate().Call(recurrent, pooled));
        var model = new Model([input], [output]) { Output = TextWriter.Null };
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 5);
        int runs = LstmInference.OnEmbeddingRuns;
        Tensor predicted = model.Predict(Ids(Batch));
        Assert.That(LstmInference.OnEmbeddingRuns, Is.EqualTo(runs));
        Assert.That(predicted.ToArray().All(float.IsFinite));
    }

    private static Dataset Data() =>
        new(Ids(Batch), Tensor.FromArray([.. Enumerable.Range(0, Batch).Select(i => (float)(i % 2))], Batch));

    private static Tensor Ids(int n)
    {
        var random = new Random(7);
        Tensor ids = Tensor.Zeros(n, T);
        for (int i = 0; i < ids.Length; i++)
            ids.Span[i] = i % 5 == 4 ? 0 : random.Next(Vocabulary);
        return ids;
    }
}
