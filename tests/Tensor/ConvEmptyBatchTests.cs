namespace NanoNet.Tests;

/// <summary>An empty batch through a convolution's forward and backward (plain and pooled): nothing to add, no error.</summary>
public class ConvEmptyBatchTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void AnEmptyBatchLeavesTheWeightGradientsZero(bool pooled)
    {
        var x = Tensor.Zeros(0, 6, 6, 32).AsParameter();
        var k = Tensor.RandomUniform([3, 3, 32, 8], -1, 1, 1).AsParameter();
        var b = Tensor.Zeros(8).AsParameter();
        Tensor y = pooled
            ? Ops.Conv2DMaxPool2D(x, k, b, (1, 1), (1, 1), Kernels.ConvPadding.Valid, ActivationFunction.Relu, (2, 2), (2, 2), poolSamePadding: false)
            : Ops.Conv2D(x, k, b, (1, 1), (1, 1), Kernels.ConvPadding.Valid, ActivationFunction.Relu);
        Ops.Sum(y).Backward();
        Assert.That(k.Grad!.ToArray(), Is.All.EqualTo(0f));
        Assert.That(b.Grad!.ToArray(), Is.All.EqualTo(0f));
    }
}
