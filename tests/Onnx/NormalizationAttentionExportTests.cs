using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Onnx.Tests;

/// <summary>BatchNormalization and LayerNormalization (ONNX operators) and MultiHeadAttention (a subgraph): NanoNet and ONNX Runtime agree.</summary>
public class NormalizationAttentionExportTests
{
    private const int Rows = 5;

    /// <summary>Compiles with random weights, then gives every BatchNormalization random moving statistics (a positive variance).</summary>
    private static Model Compiled(Model model, int seed = 1)
    {
        OnnxAgreement.Compiled(model, seed);
        var random = new Random(seed + 1);
        foreach (BatchNormalization layer in model.Layers.OfType<BatchNormalization>())
            foreach (ref float v in layer.MovingVariance.Span)
                v = 0.5f + (float)random.NextDouble();
        return model;
    }

    private static float Error(Model model, params Tensor[] inputs) => OnnxAgreement.MaxAbsError(model, inputs);

    [TestCase(true, true)]
    [TestCase(false, false)]
    public void BatchNormalizationOnFeatures(bool center, bool scale)
    {
        Model model = Compiled(new Sequential([6], new Dense(4), new BatchNormalization(center: center, scale: scale)));
        Assert.That(Error(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 3)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void BatchNormalizationBetweenConvolutionAndPoolingStaysChannelsFirst()
    {
        Model model = Compiled(new Sequential([8, 8, 3],
            new Conv2D(4, 3, padding: "same"), new BatchNormalization(), new Activation(ActivationFunction.Relu), new MaxPool2D(2), new BatchNormalization(name: "after_pool")));
        Assert.That(Error(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 4)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase(-1)]
    [TestCase(1)]
    [TestCase(2)]
    public void BatchNormalizationOnSequencesAlongAnyAxis(int axis)
    {
        Model model = Compiled(new Sequential([4, 6], new BatchNormalization(axis: axis)));
        Assert.That(Error(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, 5, -3f, 3f)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase(true, true)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    public void LayerNormalization(bool center, bool scale)
    {
        Model features = Compiled(new Sequential([12], new LayerNormalization(center: center, scale: scale)));
        Assert.That(Error(features, OnnxAgreement.RandomBatch(features.Inputs[0], Rows, 6, -3f, 3f)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
        Model sequences = Compiled(new Sequential([4, 10], new Dense(10), new LayerNormalization(epsilon: 1e-5f)));
        Assert.That(Error(sequences, OnnxAgreement.RandomBatch(sequences.Inputs[0], Rows, 7)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [TestCase(false, TestName = "Self-attention")]
    [TestCase(true, TestName = "Causal self-attention without biases")]
    public void SelfAttention(bool causal)
    {
        var x = new Input([6, 8], "x");
        SymbolicTensor y = new MultiHeadAttention(2, 4, useBias: !causal).Call(x, x, useCausalMask: causal);
        Model model = Compiled(new Model(x, y));
        Assert.That(Error(model, OnnxAgreement.RandomBatch(x, Rows, 8)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void CrossAttentionWithKeyAttentionMaskAndCausalMask()
    {
        var query = new Input([5, 8], "query");
        var value = new Input([7, 6], "value");
        var key = new Input([7, 3], "key");
        var mask = new Input([5, 7], "mask");
        SymbolicTensor y = new MultiHeadAttention(3, 4, valueDim: 2, outputShape: 9).Call(query, value, key, mask, useCausalMask: true);
        Model model = Compiled(new Model([query, value, key, mask], [y]));
        Tensor maskValues = OnnxAgreement.RandomBatch(mask, Rows, 9, 0f, 1f);
        foreach (ref float m in maskValues.Span)
            m = m < 0.3f ? 0f : 1f;
        for (int i = 0; i < Rows * 5; i++)
            maskValues[i * 7] = 1f; // every query keeps its first key
        Assert.That(Error(model, OnnxAgreement.RandomBatch(query, Rows, 10), OnnxAgreement.RandomBatch(value, Rows, 11), OnnxAgreement.RandomBatch(key, Rows, 12), maskValues),
            Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void ATransformerEncoderBlock()
    {
        var tokens = new Input([6, 8], "tokens");
        SymbolicTensor attended = new MultiHeadAttention(2, 4).Call(tokens, tokens);
        SymbolicTensor h = new LayerNormalization().Call(new Add().Call(tokens, attended));
        SymbolicTensor fed = new Dense(8).Call(new Dense(16, ActivationFunction.Relu).Call(h));
        h = new LayerNormalization().Call(new Add().Call(h, fed));
        Model model = Compiled(new Model(tokens, new Dense(3, ActivationFunction.Softmax).Call(new GlobalAveragePooling1D().Call(h))));
        Assert.That(Error(model, OnnxAgreement.RandomBatch(tokens, Rows, 13)), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void AttentionReadingAPaddingMaskIsRefused()
    {
        var ids = new Input([6], "ids");
        SymbolicTensor embedded = new Embedding(20, 8, maskZero: true, name: "words").Call(ids);
        SymbolicTensor y = new MultiHeadAttention(2, 4, name: "attention").Call(embedded, embedded);
        Model model = Compiled(new Model(ids, y));
        var e = Assert.Throws<NotSupportedException>(() => model.ExportOnnx(Stream.Null))!;
        Assert.That(e.Message, Does.Contain("'attention'").And.Contain("'words'"));
    }
}
