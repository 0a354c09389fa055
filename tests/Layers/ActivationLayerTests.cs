using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>The parametric activation layers (LeakyReLU, ELU, Softmax(axis)): ops against naive twins, gradient checks, configs.</summary>
public class ActivationLayerTests
{
    [Test]
    public void LeakyReluAndEluMatchTheirDefinitions()
    {
        Tensor x = GradientCheck.Random([3, 7], 11);
        Tensor leaky = Ops.LeakyRelu(x, 0.1f), elu = Ops.Elu(x, 0.7f);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.That(leaky[i], Is.EqualTo(x[i] > 0 ? x[i] : 0.1f * x[i]));
            Assert.That(elu[i], Is.EqualTo(x[i] > 0 ? x[i] : 0.7 * (Math.Exp(x[i]) - 1)).Within(1e-6));
        }
        // with the Keras function defaults they equal the fixed-parameter activations
        Assert.That(Ops.LeakyRelu(x, 0.2f).ToArray(), Is.EqualTo(Ops.LeakyRelu(x).ToArray()));
        Assert.That(Ops.Elu(x, 1f).ToArray(), Is.EqualTo(Ops.Elu(x).ToArray()).Within(1e-6));
    }

    [Test]
    public void Gradients()
    {
        GradientCheck.Check(x => Ops.LeakyRelu(x[0], 0.15f), [GradientCheck.Random([4, 5], 12, awayFromZero: 0.05f)]);
        GradientCheck.Check(x => Ops.Elu(x[0], 0.6f), [GradientCheck.Random([4, 5], 13, awayFromZero: 0.05f)], epsilon: 1e-3f);
        var softmax = new Softmax(axis: 1);
        softmax.Build([3, 4]);
        GradientCheck.Check(x => softmax.Forward(x[0]), [GradientCheck.Random([2, 3, 4], 14)], epsilon: 1e-3f);
    }

    [Test]
    public void SoftmaxLayerSumsToOneOverItsAxisAndRefusesTheBatchAxis()
    {
        var layer = new Softmax(axis: 1);
        layer.Build([3, 4]);
        Tensor y = layer.Forward(GradientCheck.Random([2, 3, 4], 15));
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 4; c++)
                Assert.That(Enumerable.Range(0, 3).Sum(t => y[(n * 3 + t) * 4 + c]), Is.EqualTo(1f).Within(1e-6));
        var e = Assert.Throws<ArgumentException>(() => new Softmax(axis: 0).Build([3, 4]));
        Assert.That(e!.Message, Does.Contain("axis 0").And.Contain("(None, 3, 4)"));
    }

    [Test]
    public void ConfigsRoundTrip()
    {
        var leaky = (LeakyRelu)LayerRegistry.Create(new LeakyRelu(0.05f, "l").GetConfig());
        var elu = (Elu)LayerRegistry.Create(new Elu(0.5f, "e").GetConfig());
        var softmax = (Softmax)LayerRegistry.Create(new Softmax(-2, "s").GetConfig());
        Assert.That((leaky.NegativeSlope, leaky.Name, elu.Alpha, softmax.Axis), Is.EqualTo((0.05f, "l", 0.5f, -2)));
    }
}
