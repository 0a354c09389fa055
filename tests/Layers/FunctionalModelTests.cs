using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>The Functional API: graphs of layer calls, several inputs and outputs, shared layers, merges.</summary>
public class FunctionalModelTests
{
    /// <summary>Label = which of the two inputs has the larger sum: needs both inputs.</summary>
    private static Dataset TwoInputData(int count, int seed)
    {
        var rng = new RandomStream((ulong)seed);
        var a = Tensor.Zeros(count, 4);
        var b = Tensor.Zeros(count, 3);
        var y = Tensor.Zeros(count);
        rng.FillUniform(a.Span, -1, 1);
        rng.FillUniform(b.Span, -1, 1);
        for (int i = 0; i < count; i++)
        {
            float sa = 0, sb = 0;
            for (int f = 0; f < 4; f++) sa += a[i, f];
            for (int f = 0; f < 3; f++) sb += b[i, f];
            y[i] = sa > sb ? 1 : 0;
        }
        return new Dataset([a, b], [y]);
    }

    private static Model TwoInputModel(out Layer merge)
    {
        var left = new Input([4], "left");
        var right = new Input([3], "right");
        SymbolicTensor l = new Dense(8, ActivationFunction.Relu, name: "left_dense").Call(left);
        SymbolicTensor r = new Dense(8, ActivationFunction.Relu, name: "right_dense").Call(right);
        var concat = new Concatenate(name: "joined");
        merge = concat;
        SymbolicTensor h = concat.Call(l, r);
        SymbolicTensor output = new Dense(2, ActivationFunction.Softmax, name: "decision").Call(h);
        var model = new Model([left, right], [output], "two_inputs") { Output = TextWriter.Null };
        model.Compile(new Adam(0.02f), new SparseCategoricalCrossEntropy(), seed: 1);
        return model;
    }

    [Test]
    public void ATwoInputModelTrainsThroughFit()
    {
        Model model = TwoInputModel(out Layer merge);
        Assert.That(merge.OutputShape.ToArray(), Is.EqualTo(new[] { 16 }));
        Dataset train = TwoInputData(512, 1), test = TwoInputData(256, 2);
        model.Fit(train, batchSize: 32, epochs: 15, verbose: 0);
        Evaluation result = model.Evaluate(test);
        Assert.That(result.Accuracy, Is.GreaterThan(0.9f), $"held-out accuracy {result.Accuracy}");
        Tensor[] predictions = model.Predict(test.Inputs);
        Assert.That(predictions[0].Shape.ToArray(), Is.EqualTo(new[] { 256, 2 }));
    }

    [Test]
    public void AResidualBlockTrains()
    {
        var input = new Input([6]);
        SymbolicTensor h = new Dense(16, ActivationFunction.Relu).Call(input);
        SymbolicTensor f = new Dense(16, ActivationFunction.Relu).Call(new Dense(16, ActivationFunction.Relu).Call(h));
        SymbolicTensor sum = new Add().Call(h, f);                         // h + f(h)
        var model = new Model(input, new Dense(1).Call(sum)) { Output = TextWriter.Null };
        model.Compile(new Adam(0.01f), new MeanSquaredError(), seed: 2);

        var rng = new RandomStream(7);
        var x = Tensor.Zeros(256, 6);
        rng.FillUniform(x.Span, -1, 1);
        var y = Tensor.Zeros(256, 1);
        for (int i = 0; i < 256; i++)
            y[i] = x[i, 0] * x[i, 1] + 0.5f * x[i, 2] - x[i, 3] * x[i, 3];
        var data = new Dataset(x, y);
        float before = model.Evaluate(data).Loss;
        model.Fit(data, batchSize: 32, epochs: 40, verbose: 0);
        Assert.That(model.Evaluate(data).Loss, Is.LessThan(before * 0.2f));
        Assert.That(model.Summary(), Does.Contain("Connected to").And.Contain("dense"));
    }

    [Test]
    public void ALayerCalledTwiceSharesItsWeights()
    {
        var a = new Input([5], "a");
        var b = new Input([5], "b");
        var shared = new Dense(3, name: "shared");
        SymbolicTensor difference = new Subtract().Call(shared.Call(a), shared.Call(b));
        var model = new Model([a, b], [new Dense(1, name: "head").Call(difference)]) { Output = TextWriter.Null };
        model.Compile(new Sgd(0.1f), new MeanSquaredError());

        Assert.That(model.Layers.Count(l => l == shared), Is.EqualTo(1));
        Assert.That(model.Parameters, Has.Count.EqualTo(4), "shared kernel and bias once, head kernel and bias");
        // Same input on both sides: the shared layer's outputs cancel, whatever its weights.
        var x = Tensor.RandomUniform([4, 5], -1, 1, 3);
        Tensor y = model.Forward([x, x])[0];
        Tensor bias = ((Dense)model.GetLayer("head")).Bias;
        for (int i = 0; i < 4; i++)
            Assert.That(y[i], Is.EqualTo(bias[0]).Within(1e-6f));
        // Both calls send gradients into the one kernel.
        model.TrainStep(new Dataset([x, Tensor.RandomUniform([4, 5], -1, 1, 4)], [Tensor.Ones(4, 1)]));
        Assert.That(model.Summary(), Does.Contain("shared (Dense)"));
    }

    [Test]
    public void ShapesAreCheckedWhenTheGraphIsBuiltAndErrorsNameTheLayer()
    {
        var input = new Input([8]);
        SymbolicTensor a = new Dense(4, name: "four").Call(input);
        SymbolicTensor b = new Dense(5, name: "five").Call(input);
        var ex = Assert.Throws<ArgumentException>(() => new Add(name: "join").Call(a, b));
        Assert.That(ex!.Message, Does.Contain("join").And.Contain("(None, 4)").And.Contain("(None, 5)"));

        var dense = new Dense(2, name: "reused");
        dense.Call(input);
        ex = Assert.Throws<ArgumentException>(() => dense.Call(new Input([3])));
        Assert.That(ex!.Message, Does.Contain("reused").And.Contain("(None, 8)").And.Contain("(None, 3)"));

        ex = Assert.Throws<ArgumentException>(() => new Conv2D(4, 3, name: "conv").Call(input));
        Assert.That(ex!.Message, Does.Contain("conv"));
    }

    [Test]
    public void AnOutputThatNeedsAnUnlistedInputIsRejected()
    {
        var a = new Input([2], "a");
        var b = new Input([2], "b");
        SymbolicTensor sum = new Add().Call(a, b);
        var ex = Assert.Throws<ArgumentException>(() => new Model([a], [sum]));
        Assert.That(ex!.Message, Does.Contain("'b'"));
    }

    [Test]
    public void TwoOutputsTrainWithTheirOwnLossesAndReportPerOutputMetrics()
    {
        var input = new Input([4]);
        SymbolicTensor h = new Dense(16, ActivationFunction.Relu, name: "trunk").Call(input);
        SymbolicTensor cls = new Dense(2, ActivationFunction.Softmax, name: "cls").Call(h);
        SymbolicTensor reg = new Dense(1, name: "reg").Call(h);
        var model = new Model([input], [cls, reg]) { Output = TextWriter.Null };
        model.Compile(new Adam(0.02f), [new SparseCategoricalCrossEntropy(), new MeanSquaredError()], [1f, 0.5f], seed: 3);

        var rng = new RandomStream(9);
        var x = Tensor.Zeros(256, 4);
        rng.FillUniform(x.Span, -1, 1);
        var label = Tensor.Zeros(256);
        var value = Tensor.Zeros(256, 1);
        for (int i = 0; i < 256; i++)
        {
            label[i] = x[i, 0] + x[i, 1] > 0 ? 1 : 0;
            value[i] = x[i, 2] - x[i, 3];
        }
        var data = new Dataset([x], [label, value]);
        TrainingHistory history = model.Fit(data, batchSize: 32, epochs: 20, verbose: 0, validation: data);
        EpochMetrics last = history.Last;
        Assert.That(last.Outputs.Keys, Is.SupersetOf(new[] { "cls_loss", "cls_accuracy", "reg_loss", "val_cls_accuracy" }));
        Assert.That(last.Outputs["cls_accuracy"], Is.GreaterThan(0.9f));
        Assert.That(last.Outputs["reg_loss"], Is.LessThan(0.05f));
        Assert.That(last.Loss, Is.EqualTo(last.Outputs["cls_loss"] + 0.5f * last.Outputs["reg_loss"]).Within(1e-3f));
    }

    [Test]
    public void MasksTravelWithTheTensorThroughTheGraph()
    {
        // Id 0 is padding: with the mask the LSTM skips the padded steps, so a padded sequence gives the
        // same output as the unpadded one run by layers with the same weights.
        Model Build(int length, out Embedding embedding, out Lstm lstm, out Dense head)
        {
            var tokens = new Input([length]);
            embedding = new Embedding(10, 4, maskZero: true);
            lstm = new Lstm(3);
            head = new Dense(2, ActivationFunction.Softmax);
            var model = new Model(tokens, head.Call(lstm.Call(embedding.Call(tokens))));
            model.Compile(new Sgd(), new SparseCategoricalCrossEntropy(), seed: 4);
            return model;
        }
        Model padded = Build(6, out Embedding e1, out Lstm l1, out Dense d1);
        Model exact = Build(3, out Embedding e2, out Lstm l2, out Dense d2);
        foreach ((Layer from, Layer to) in new (Layer, Layer)[] { (e1, e2), (l1, l2), (d1, d2) })
            for (int w = 0; w < from.Weights.Count; w++)
                from.Weights[w].Span.CopyTo(to.Weights[w].Span);
        Tensor a = padded.Predict(Tensor.FromArray([3, 1, 4, 0, 0, 0], 1, 6));
        Tensor b = exact.Predict(Tensor.FromArray([3, 1, 4], 1, 3));
        Assert.That(a.ToArray(), Is.EqualTo(b.ToArray()).Within(1e-6f));
    }

    [Test]
    public void RecompilingKeepsTheTrainedWeights()
    {
        var input = new Input([3]);
        var model = new Model(input, new Dense(2, ActivationFunction.Softmax).Call(input)) { Output = TextWriter.Null };
        model.Compile(new Sgd(0.5f), new SparseCategoricalCrossEntropy());
        model.Fit(new Dataset(Tensor.RandomUniform([32, 3], -1, 1, 1), Tensor.Zeros(32)), batchSize: 8, epochs: 2, verbose: 0);
        float[][] trained = [.. model.Weights.Select(w => w.ToArray())];
        model.Compile(new Adam(0.001f), new SparseCategoricalCrossEntropy(), seed: 99);
        Assert.That(model.Weights.Select(w => w.ToArray()), Is.EqualTo(trained));
    }
}
