using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Keras's sample_weight and class_weight in Fit: each example's loss times its weight, summed, divided by the batch size.</summary>
public class SampleWeightTests
{
    private static (Sequential Model, Dense Dense) Line(Loss loss, float kernel)
    {
        var dense = new Dense(1);
        var model = new Sequential([1], dense);
        model.Compile(new Sgd(0.1f), loss, seed: 1);
        model.Output = TextWriter.Null;
        dense.Kernel[0] = kernel;
        dense.Bias[0] = 0f;
        return (model, dense);
    }

    [Test]
    public void OneStepByHand()
    {
        // p = 0.5·x = (0.5, 1, 1.5), targets 0, weights (1, 0, 2):
        // L = (1·0.25 + 0·1 + 2·2.25)/3 = 4.75/3; dL/dw = Σ wᵢ·2pᵢxᵢ/3 = (1 + 0 + 18)/3; dL/db = Σ wᵢ·2pᵢ/3 = (1 + 0 + 6)/3.
        (Sequential model, Dense dense) = Line(new MeanSquaredError(), 0.5f);
        var data = new Dataset(Tensor.FromArray([1f, 2f, 3f], 3, 1), Tensor.FromArray([0f, 0f, 0f], 3, 1)) { SampleWeights = Tensor.FromArray([1f, 0f, 2f], 3) };
        Assert.That(model.Evaluate(data).Loss, Is.EqualTo(4.75f / 3).Within(1e-6));
        TrainingHistory history = model.Fit(data, batchSize: 3, epochs: 1, shuffle: false);
        Assert.That(history.Last.Loss, Is.EqualTo(4.75f / 3).Within(1e-6));
        Assert.That(dense.Kernel[0], Is.EqualTo(0.5f - 0.1f * 19f / 3).Within(1e-6));
        Assert.That(dense.Bias[0], Is.EqualTo(-0.1f * 7f / 3).Within(1e-6));
    }

    [Test]
    public void WeightsFollowTheirRowsThroughShufflingAndBatching()
    {
        // Zero weight on every odd row: training must equal training on the even rows only, with the loss
        // of a batch divided by its full size (Keras's sum over batch size): so half the gradient per batch.
        var x = Tensor.RandomUniform([8, 1], -1, 1, 4);
        var y = Tensor.RandomUniform([8, 1], -1, 1, 5);
        var weights = Tensor.FromArray([.. Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? 1f : 0f)], 8);
        (Sequential weighted, Dense a) = Line(new MeanSquaredError(), 0.3f);
        weighted.Fit(new Dataset(x, y) { SampleWeights = weights }, batchSize: 8, epochs: 3, seed: 2);
        (Sequential halved, Dense b) = Line(new MeanSquaredError(), 0.3f);
        halved.Compile(new Sgd(0.05f), new MeanSquaredError()); // half the learning rate on the 4 weighted rows
        var even = new Dataset(Tensor.FromArray([.. Enumerable.Range(0, 4).Select(i => x[2 * i])], 4, 1), Tensor.FromArray([.. Enumerable.Range(0, 4).Select(i => y[2 * i])], 4, 1));
        halved.Fit(even, batchSize: 4, epochs: 3, seed: 2);
        Assert.That(a.Kernel[0], Is.EqualTo(b.Kernel[0]).Within(1e-6));
        Assert.That(a.Bias[0], Is.EqualTo(b.Bias[0]).Within(1e-6));
        Assert.That(a.Kernel[0], Is.Not.EqualTo(0.3f));
    }

    [Test]
    public void ClassWeightsAreSampleWeightsByClass()
    {
        var x = Tensor.RandomUniform([10, 1], -1, 1, 6);
        var y = Tensor.FromArray([0f, 1, 1, 0, 2, 1, 0, 0, 1, 2], 10);
        var classWeight = new Dictionary<int, float> { [0] = 0.5f, [1] = 3f }; // class 2 not listed: weight 1
        var sampleWeights = Tensor.FromArray([0.5f, 3, 3, 0.5f, 1, 3, 0.5f, 0.5f, 3, 1], 10);
        float[] Train(Dataset data, Dictionary<int, float>? weights)
        {
            var dense = new Dense(3, ActivationFunction.Softmax);
            var model = new Sequential([1], dense);
            model.Compile(new Sgd(0.5f), new SparseCategoricalCrossEntropy(), seed: 3);
            model.Output = TextWriter.Null;
            model.Fit(data, batchSize: 4, epochs: 2, seed: 1, classWeight: weights);
            return [.. dense.Kernel.ToArray(), .. dense.Bias.ToArray()];
        }
        float[] byClass = Train(new Dataset(x, y), classWeight);
        Assert.That(byClass, Is.EqualTo(Train(new Dataset(x, y) { SampleWeights = sampleWeights }, null)));
        Assert.That(byClass, Is.Not.EqualTo(Train(new Dataset(x, y), null)));
        Assert.Throws<ArgumentException>(() => Train(new Dataset(x, y) { SampleWeights = sampleWeights }, classWeight));
    }
}
