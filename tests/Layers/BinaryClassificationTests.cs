using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Dense(1, sigmoid) with binary cross-entropy through Compile/Fit: the fused stable form, targets (N) or (N, 1), "accuracy".</summary>
public class BinaryClassificationTests
{
    /// <summary>Two noisy blobs in 2-D, label 1 when x0 + x1 &gt; 0 (with a margin).</summary>
    private static Dataset Blobs(int count, int seed, bool columnTargets)
    {
        var rng = new Random(seed);
        var x = Tensor.Zeros(count, 2);
        var y = columnTargets ? Tensor.Zeros(count, 1) : Tensor.Zeros(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 2;
            y[i] = label;
            x[i, 0] = (label == 1 ? 1f : -1f) + (rng.NextSingle() - 0.5f);
            x[i, 1] = (label == 1 ? 1f : -1f) + (rng.NextSingle() - 0.5f);
        }
        return new Dataset(x, y);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LearnsAndReportsAccuracy(bool columnTargets)
    {
        var model = new Sequential([2], new Dense(4, ActivationFunction.Tanh), new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Adam(0.05f), new BinaryCrossEntropy(), seed: 1);
        model.Output = TextWriter.Null;
        Dataset train = Blobs(200, 1, columnTargets);
        float before = model.Evaluate(train).Accuracy!.Value;
        TrainingHistory history = model.Fit(train, batchSize: 16, epochs: 5, validation: Blobs(100, 2, columnTargets));
        Assert.That(history.Last.Accuracy, Is.GreaterThan(0.95f), $"accuracy before training: {before}");
        Assert.That(history.Last.ValidationAccuracy, Is.GreaterThan(0.95f));
        Assert.That(history.Last.Loss, Is.LessThan(history.Epochs[0].Loss));
        // accuracy is binary accuracy at 0.5: recount it from the predictions
        Dataset test = Blobs(100, 3, columnTargets);
        Tensor p = model.Predict(test.Features);
        int correct = Enumerable.Range(0, 100).Count(i => (p[i] > 0.5f ? 1f : 0f) == test.Labels[i]);
        Assert.That(model.Evaluate(test).Accuracy, Is.EqualTo(correct / 100f));
    }

    /// <summary>A Dense(1, sigmoid) whose logit for input (1, 0) is <paramref name="logit"/>.</summary>
    private static Sequential OneLogitModel(float logit)
    {
        var dense = new Dense(1, ActivationFunction.Sigmoid);
        var model = new Sequential([2], dense);
        model.Compile(new Sgd(1f), new BinaryCrossEntropy(), seed: 1);
        dense.Kernel.Span.Clear();
        dense.Kernel[0] = logit;
        dense.Kernel[1] = 0.5f;
        dense.Bias[0] = 0f;
        return model;
    }

    [Test]
    public void SigmoidOutputTrainsOnTheStableLogitsForm()
    {
        // Logit 40, target 0: the exact loss is 40 + log(1 + e^−40) = 40. Probabilities would round to 1 and clip at 1 − 1e-7 (≈ 16.1 in float, Keras's clipped figure).
        Sequential model = OneLogitModel(40f);
        var data = new Dataset(Tensor.FromArray([1f, 0f], 1, 2), Tensor.FromArray([0f], 1));
        Assert.That(model.Evaluate(data).Loss, Is.EqualTo(40f).Within(1e-4));
        float clipped = new BinaryCrossEntropy().Compute(model.Predict(data.Features), data.Labels)[0];
        Assert.That(clipped, Is.LessThan(17f));
        // One SGD step (lr 1): the fused gradient is σ(40) − 0 ≈ 1 per unit input, not the 0 the clip would give.
        model.TrainStep(data);
        Assert.That(((Dense)model.Layers[0]).Kernel[0], Is.EqualTo(39f).Within(1e-5));
    }

    [Test]
    public void FusedGradientEqualsTheComposedOne()
    {
        Sequential model = OneLogitModel(0.7f);
        var dense = (Dense)model.Layers[0];
        var x = Tensor.FromArray([1f, 0f, 0.3f, -2f, -1f, 1.5f], 3, 2);
        var y = Tensor.FromArray([1f, 0f, 1f], 3, 1);
        // Composed by hand: sigmoid then the clipped-probability loss, on copies of the weights.
        Tensor kernel = dense.Kernel.Clone().AsParameter(), bias = dense.Bias.Clone().AsParameter();
        Tensor loss = new BinaryCrossEntropy().Compute(Ops.Sigmoid(Ops.Add(Ops.MatMul(x, kernel), bias)), y);
        loss.Backward();
        Assert.That(model.Evaluate(new Dataset(x, y)).Loss, Is.EqualTo(loss[0]).Within(1e-6));
        float[] expected = [.. kernel.ToArray().Select((w, i) => w - kernel.Grad![i])];
        model.TrainStep(new Dataset(x, y));
        Assert.That(dense.Kernel.ToArray(), Is.EqualTo(expected).Within(1e-5));
        Assert.That(dense.Bias[0], Is.EqualTo(bias[0] - bias.Grad![0]).Within(1e-5));
    }
}
