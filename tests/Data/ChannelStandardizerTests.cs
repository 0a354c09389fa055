using NanoNet.Data;

namespace NanoNet.Tests.Data;

public class ChannelStandardizerTests
{
    [Test]
    public void Fit_computes_per_channel_mean_and_population_std()
    {
        // Two 1x2 images with 2 channels: channel 0 takes 1, 2, 3, 4; channel 1 is constant 5.
        var images = Tensor.FromArray([1, 5, 2, 5, 3, 5, 4, 5], 2, 1, 2, 2);
        var standardizer = ChannelStandardizer.Fit(images);
        Assert.That(standardizer.Mean, Is.EqualTo(new[] { 2.5f, 5f }).Within(1e-6f));
        Assert.That(standardizer.Std[0], Is.EqualTo(MathF.Sqrt(1.25f)).Within(1e-6f));
        Assert.That(standardizer.Std[1], Is.EqualTo(1f), "a constant channel is only centred");
    }

    [Test]
    public void Apply_standardises_train_and_uses_the_train_statistics_for_test()
    {
        var train = Tensor.RandomUniform([50, 4, 4, 3], 0f, 1f, seed: 1);
        for (int i = 1; i < train.Length; i += 3)
            train[i] = train[i] * 3 + 2; // give channel 1 a different scale and offset
        var test = train.Clone();
        var standardizer = ChannelStandardizer.Fit(train);
        standardizer.Apply(train);
        standardizer.Apply(test);
        Assert.That(test.ToArray(), Is.EqualTo(train.ToArray()));
        var refit = ChannelStandardizer.Fit(train);
        Assert.That(refit.Mean, Is.EqualTo(new[] { 0f, 0f, 0f }).Within(1e-5f));
        Assert.That(refit.Std, Is.EqualTo(new[] { 1f, 1f, 1f }).Within(1e-5f));
    }

    [Test]
    public void Apply_rejects_images_with_another_channel_count()
    {
        var standardizer = new ChannelStandardizer([0f, 0f, 0f], [1f, 1f, 1f]);
        Assert.Throws<ArgumentException>(() => standardizer.Apply(Tensor.Zeros(2, 4, 4, 1)));
        Assert.Throws<ArgumentException>(() => _ = new ChannelStandardizer([0f], [0f]));
    }
}
