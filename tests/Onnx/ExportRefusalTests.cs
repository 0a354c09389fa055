using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Onnx.Tests;

/// <summary>What ONNX cannot express is refused with an exception that names the layer.</summary>
public class ExportRefusalTests
{
    /// <summary>A custom layer (y = 2x) that ONNX export knows nothing about.</summary>
    private sealed class Doubling(string? name = null) : Layer(name)
    {
        protected override string DefaultName => "doubling";

        protected override int[] OnBuild(int[] inputShape) => inputShape;

        protected override Tensor OnForward(Tensor x, bool training) => Ops.Add(x, x);
    }

    private static void Export(Model model) => model.ExportOnnx(Stream.Null);

    [Test]
    public void ACustomLayerIsNamed()
    {
        Model model = OnnxAgreement.Compiled(new Sequential([4], new Dense(3), new Doubling("twice")));
        var e = Assert.Throws<NotSupportedException>(() => Export(model))!;
        Assert.That(e.Message, Does.Contain("'twice'").And.Contain("Doubling"));
    }

    [Test]
    public void AStatefulLstmIsRefused()
    {
        Model model = OnnxAgreement.Compiled(new Sequential([5, 2], new Lstm(3, stateful: true, name: "memory")));
        var e = Assert.Throws<NotSupportedException>(() => Export(model))!;
        Assert.That(e.Message, Does.Contain("'memory'").And.Contain("stateful"));
    }

    [Test]
    public void AnLstmReadingAPaddingMaskIsRefused()
    {
        Model model = OnnxAgreement.Compiled(new Sequential([8],
            new Embedding(30, 4, maskZero: true, name: "words"), new Dense(4), new Lstm(3, name: "reader")));
        var e = Assert.Throws<NotSupportedException>(() => Export(model))!;
        Assert.That(e.Message, Does.Contain("'reader'").And.Contain("'words'").And.Contain("maskZero"));
    }

    [Test]
    public void AMaskNoLstmReadsIsNoObstacle()
    {
        Model model = OnnxAgreement.Compiled(new Sequential([8], new Embedding(30, 4, maskZero: true), new Dense(2)));
        Tensor ids = OnnxAgreement.RandomIds(model.Inputs[0], 3, 30, 1);
        Assert.That(OnnxAgreement.MaxAbsError(model, ids), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void AnUncompiledModelIsRefused()
    {
        var model = new Sequential([4], new Dense(2, name: "fresh"));
        var e = Assert.Throws<InvalidOperationException>(() => Export(model))!;
        Assert.That(e.Message, Does.Contain("compiled").And.Contain("'fresh'"));
    }
}
