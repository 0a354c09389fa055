using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>UpSampling1D and UpSampling2D as layers: Keras's shapes and arguments, errors naming the layer, configs.</summary>
public class UpSamplingLayerTests
{
    private static T Built<T>(T layer, int[] shape) where T : Layer
    {
        layer.Build(shape);
        return layer;
    }

    [Test]
    public void ShapesFollowKeras()
    {
        Assert.That(Built(new UpSampling2D(), [16, 16, 64]).OutputShape.ToArray(), Is.EqualTo(new[] { 32, 32, 64 }));
        Assert.That(Built(new UpSampling2D((1, 3), "bilinear"), [4, 5, 2]).OutputShape.ToArray(), Is.EqualTo(new[] { 4, 15, 2 }));
        Assert.That(Built(new UpSampling1D(3), [7, 4]).OutputShape.ToArray(), Is.EqualTo(new[] { 21, 4 }));
        Assert.That(new UpSampling2D().Size, Is.EqualTo((2, 2)));
        Assert.That(new UpSampling2D().Interpolation, Is.EqualTo("nearest"));
        Assert.That(new UpSampling1D().Size, Is.EqualTo(2));
    }

    [Test]
    public void TheLayersRunTheOps()
    {
        var x = Tensor.RandomUniform([2, 3, 4, 5], -1, 1, 1);
        Assert.That(Built(new UpSampling2D((2, 3), "bilinear"), [3, 4, 5]).Forward(x).ToArray(), Is.EqualTo(Ops.UpSampling2D(x, 2, 3, bilinear: true).ToArray()));
        Assert.That(Built(new UpSampling2D(2), [3, 4, 5]).Forward(x).ToArray(), Is.EqualTo(Ops.UpSampling2D(x, 2, 2).ToArray()));
        var s = Tensor.RandomUniform([2, 6, 3], -1, 1, 2);
        Assert.That(Built(new UpSampling1D(4), [6, 3]).Forward(s).ToArray(), Is.EqualTo(Ops.UpSampling1D(s, 4).ToArray()));
    }

    [Test]
    public void BadInputIsRefusedNamingTheLayerAndTheShapes()
    {
        Assert.That(() => Built(new UpSampling2D(name: "up"), [8, 3]),
            Throws.ArgumentException.With.Message.Contains("'up'").And.Message.Contains("(height, width, channels)").And.Message.Contains("(8, 3)"));
        Assert.That(() => Built(new UpSampling1D(name: "up1"), [8, 3, 2]),
            Throws.ArgumentException.With.Message.Contains("'up1'").And.Message.Contains("(steps, channels)").And.Message.Contains("(8, 3, 2)"));
        UpSampling2D built = Built(new UpSampling2D(name: "up2"), [4, 4, 3]);
        Assert.That(() => built.Forward(Tensor.Ones(1, 4, 5, 3)), Throws.ArgumentException.With.Message.Contains("'up2'").And.Message.Contains("(1, 4, 5, 3)"));
        Assert.That(() => new UpSampling2D(2, "bicubic"), Throws.ArgumentException.With.Message.Contains("\"bicubic\""));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UpSampling2D((0, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UpSampling1D(0));
    }

    [Test]
    public void ConfigsRoundTripThroughTheRegistry()
    {
        foreach (Layer layer in new Layer[] { new UpSampling2D((2, 3), "bilinear", name: "u2"), new UpSampling2D(), new UpSampling1D(3, name: "u1") })
        {
            LayerConfig config = layer.GetConfig();
            Layer copy = LayerRegistry.Create(config);
            Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
            Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        }
        var fromKeras = (UpSampling2D)LayerRegistry.Create(new LayerConfig("UpSampling2D").Set("size", 3)); // Keras allows one integer
        Assert.That(fromKeras.Size, Is.EqualTo((3, 3)));
        Assert.That(fromKeras.Bilinear, Is.False);
        Assert.That(((UpSampling2D)LayerRegistry.Create(new UpSampling2D((1, 2), "bilinear").GetConfig())).Bilinear, Is.True);
    }
}
