using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;

namespace NanoNet.Examples.Keras;

/// <summary>
/// Keras's reference examples as NanoNet models, layer for layer with the originals' hyper-parameters. The example
/// programs train them in full; the tests train them on small real subsets.
/// </summary>
public static class KerasModels
{
    /// <summary>
    /// cifar10_cnn.py: two conv blocks (same-padded then valid 3×3 convs, 2×2 max-pooling, dropout 0.25), a
    /// 512-unit dense layer with dropout 0.5 and a softmax over the 10 classes, compiled with RMSprop
    /// (learning rate 1e-4, legacy decay 1e-6) and categorical cross-entropy (its sparse form: the labels are ids).
    /// </summary>
    /// <remarks>Keras applies each conv's relu as a separate Activation layer; here it is the conv's own activation (fused).</remarks>
    public static Sequential Cifar10Cnn(int seed)
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, padding: "same", activation: ActivationFunction.Relu),
            new Conv2D(32, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2),
            new Dropout(0.25f, seed: seed + 1),
            new Conv2D(64, 3, padding: "same", activation: ActivationFunction.Relu),
            new Conv2D(64, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2),
            new Dropout(0.25f, seed: seed + 2),
            new Flatten(),
            new Dense(512, ActivationFunction.Relu),
            new Dropout(0.5f, seed: seed + 3),
            new Dense(10, ActivationFunction.Softmax));
        // Keras's legacy `decay` argument: η = η₀ / (1 + decay · iterations), one iteration per batch.
        var optimizer = new RmsProp(learningRate: 1e-4f) { Schedule = new InverseTimeDecay(1e-4f, decayRate: 1e-6f) };
        model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed);
        return model;
    }

    /// <summary>cifar10_cnn.py's <c>ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, fill_mode='nearest', horizontal_flip=True)</c>.</summary>
    public static ImageAugmentation Cifar10CnnAugmentation(int seed) =>
        new(horizontalFlip: true, seed: seed, widthShiftRange: 0.1f, heightShiftRange: 0.1f, fillMode: ImageFillMode.Nearest);

    /// <summary>cifar10_cnn.py's batch size.</summary>
    public const int Cifar10CnnBatchSize = 32;
}
