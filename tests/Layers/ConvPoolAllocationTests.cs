using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>The new convolution and pooling layers keep a steady training step under one kilobyte, as the seed layers do.</summary>
public class ConvPoolAllocationTests
{
    // Models the size of the CIFAR seed model (whose steady step is the 1 KB reference): a step allocates
    // only its tape entries, so each new layer is measured in a model of about that many ops.
    private static IEnumerable<TestCaseData> Models()
    {
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([12, 12, 3], new ZeroPadding2D(1),
            new Conv2D(6, (3, 2), (1, 2), "same", ActivationFunction.Relu, (2, 1)), new AveragePooling2D(2, padding: "same"), new Flatten(), new Dense(4))))
            .SetName("ZeroPadding2D, rectangular dilated Conv2D, AveragePooling2D");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([12, 12, 3],
            new DepthwiseConv2D(3, depthMultiplier: 2), new MaxPool2D((2, 1)), new Flatten(), new Dense(4))))
            .SetName("DepthwiseConv2D, rectangular MaxPool2D");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([20, 5],
            new Conv1D(8, 5, activation: ActivationFunction.Relu), new MaxPooling1D(4), new Flatten(), new Dense(4))))
            .SetName("Conv1D, MaxPooling1D");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([20, 5],
            new Conv1D(6, 2, padding: "causal", dilationRate: 2), new AveragePooling1D(2, padding: "same"), new Flatten(), new Dense(4))))
            .SetName("causal dilated Conv1D, AveragePooling1D");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([6, 6, 3], new UpSampling2D(2, "bilinear"), new Conv2D(6, 3, activation: ActivationFunction.Relu),
            new SpatialDropout2D(0.3f, seed: 1), new UpSampling2D((1, 2)), new MaxPool2D(2), new Flatten(), new Dense(4))))
            .SetName("UpSampling2D bilinear and nearest, SpatialDropout2D");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([10, 5],
            new UpSampling1D(2), new Conv1D(6, 3), new SpatialDropout1D(0.3f, seed: 1), new Flatten(), new Dense(4))))
            .SetName("UpSampling1D, SpatialDropout1D");
        // Convolutions of different sizes share one cached job per thread: its [w; b] buffer must not be
        // reallocated at each of them (it was: 264 KB per step for the Keras cifar10_cnn model).
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([12, 12, 3],
            new Conv2D(4, 3, padding: "same", activation: ActivationFunction.Relu), new Conv2D(8, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2), new Dropout(0.25f), new Flatten(), new Dense(4))))
            .SetName("two Conv2D of different sizes, Dropout (the Keras cifar10_cnn block)");
    }

    [TestCaseSource(nameof(Models))]
    public void SteadyTrainingStepAllocatesUnderOneKilobyte(Func<Sequential> create)
    {
        Sequential model = create();
        int[] shape = model.Inputs[0].Shape.ToArray();
        var batch = new Dataset(Tensor.RandomUniform([8, .. shape], 0, 1, 1), Tensor.RandomUniform([8, 4], 0, 1, 2));
        model.Compile(new Sgd(0.01f), new MeanSquaredError());
        long perStep = StepAllocation.BytesPerStep(model, batch);
        Assert.That(perStep, Is.LessThan(1024), $"{perStep} bytes per step");
    }

    [Test]
    public void ScratchBuffersAreReusedByTwoWorkersInAConvolutionBackward()
    {
        // Two chunks of 10 images (14×14 outputs), so both workers take one; each holds five scratch buffers at once in
        // the fused conv + pool backward (im2col, dcol, the unpooled gradient, the GEMM's two packing panels). When the
        // idle list kept only 4 per core, the returns overflowed it and about 2 MB were reallocated per step. Counted
        // over every thread (the helper's rentals too).
        var model = new Sequential([16, 16, 3],
            new Conv2D(32, 3, padding: "same", activation: ActivationFunction.Relu), new Conv2D(32, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2), new Flatten(), new Dense(4));
        var batch = new Dataset(Tensor.RandomUniform([20, 16, 16, 3], 0, 1, 3), Tensor.RandomUniform([20, 4], 0, 1, 4));
        model.Compile(new Sgd(0.01f), new MeanSquaredError());
        // Measured as every allocation test at several threads (StepAllocation): after a settled heap, the smallest of
        // three windows, so the runtime's own background work in one window (one CI run counted 112 KB a step in a single
        // 10-step window after 5 warm-up steps, a figure no other run repeated) is not taken for the step's.
        long perStep = StepAllocation.BytesPerStep(model, batch, threads: 2);
        Assert.That(perStep, Is.LessThan(1024), $"{perStep} bytes per step on all threads");
    }
}
