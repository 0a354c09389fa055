using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Fit stops at the first step whose gradients are not finite, naming the step and the layer.</summary>
public class NonFiniteGradientTests
{
    /// <summary>y = √x: finite at x = 0, but its gradient there, ½/√x, is infinite.</summary>
    private sealed class SquareRoot(string? name = null) : Layer(name)
    {
        protected internal override string DefaultName => "square_root";
        protected override int[] OnBuild(int[] inputShape) => inputShape;
        protected override Tensor OnForward(Tensor x, bool training) => Ops.Sqrt(x);
    }

    private static Optimizer Create(string which) => which switch
    {
        "sgd" => new Sgd(0.001f),
        "adam" => new Adam(0.01f),
        "adam-clipped" => new Adam(0.01f) { GlobalClipNorm = 1f },
        "rmsprop-clipped-by-value" => new RmsProp(0.01f) { ClipValue = 0.5f },
        _ => throw new ArgumentOutOfRangeException(nameof(which)),
    };

    [TestCase("sgd")]
    [TestCase("adam")]
    [TestCase("adam-clipped")]
    [TestCase("rmsprop-clipped-by-value")]
    public void FitStopsNamingTheStepAndTheFirstLayerWithANonFiniteGradient(string optimizer)
    {
        var model = new Sequential([4],
            new Dense(3, ActivationFunction.Relu, name: "hidden"),
            new Dense(2, name: "bottleneck"),
            new SquareRoot(),
            new Dense(1, name: "head")) { Output = TextWriter.Null };
        model.Compile(Create(optimizer), new MeanSquaredError(), seed: 1);
        var x = Tensor.RandomUniform([32, 4], 0, 1, 2);
        var y = Tensor.RandomUniform([32, 1], 0, 1, 3);

        // Healthy steps first: bottleneck's outputs stay positive, so √ has a finite gradient.
        Tensor bottleneckBias = model.GetLayer("bottleneck").Weights[1];
        bottleneckBias.Span.Fill(100f);
        model.Fit(x, y, batchSize: 8, epochs: 1, shuffle: false, verbose: 0);

        // Then make its output exactly 0 from step 3 of the next Fit on: the loss stays finite, but √'s
        // gradient at 0 is infinite, so "bottleneck" (and the layers before it) get non-finite gradients.
        Tensor bottleneckKernel = model.GetLayer("bottleneck").Weights[0];
        var poison = new LambdaCallback(onBatchEnd: b =>
        {
            if (b.Step == 2)
            {
                bottleneckKernel.Span.Clear();
                bottleneckBias.Span.Clear();
            }
        });
        var error = Assert.Throws<ArithmeticException>(() =>
            model.Fit(x, y, batchSize: 8, epochs: 1, shuffle: false, verbose: 0, callbacks: [poison]))!;
        Assert.That(error.Message, Does.Contain("step 3").And.Contain("'hidden'"), error.Message);
        Assert.That(error.Message, Does.Not.Contain("'head'"));
    }
}
