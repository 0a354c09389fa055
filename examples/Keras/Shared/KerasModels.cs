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
    /// 512-unit dense layer with dropout 0.5 and a softmax over the 10 classes, compiled with Keras 2's RMSprop
    /// (learning rate 1e-4, legacy decay 1e-6, ε outside the root) and categorical cross-entropy (its sparse form: the labels are ids).
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
        // Keras 2's RMSprop, which the script was written for: ε = 1e-7 added to the root, and the legacy `decay`
        // argument η = η₀ / (1 + decay · iterations), one iteration per batch.
        var optimizer = new RmsProp(learningRate: 1e-4f)
        {
            EpsilonOutsideSquareRoot = true,
            Schedule = new InverseTimeDecay(1e-4f, decayRate: 1e-6f),
        };
        model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed);
        return model;
    }

    /// <summary>
    /// cifar10_cnn.py's <c>ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, fill_mode='nearest',
    /// horizontal_flip=True)</c>, reading between pixels as the Keras 2 of the script did (order 0: the nearest pixel;
    /// later versions interpolate bilinearly, which blurs every training image but no test image).
    /// </summary>
    public static ImageAugmentation Cifar10CnnAugmentation(int seed) =>
        new(horizontalFlip: true, seed: seed, widthShiftRange: 0.1f, heightShiftRange: 0.1f, fillMode: ImageFillMode.Nearest,
            interpolation: ImageInterpolation.Nearest);

    /// <summary>cifar10_cnn.py's batch size.</summary>
    public const int Cifar10CnnBatchSize = 32;

    /// <summary>The IMDB examples' vocabulary size (<c>max_features</c>).</summary>
    public const int MaxFeatures = 20_000;

    /// <summary>
    /// imdb_lstm.py: Embedding(20000, 128) → LSTM(128, dropout 0.2, recurrent_dropout 0.2) → Dense(1, sigmoid),
    /// binary cross-entropy, Adam; maxlen 80, batch 32.
    /// </summary>
    public static Sequential ImdbLstm(int seed)
    {
        var model = new Sequential([ImdbLstmMaxLength],
            new Embedding(MaxFeatures, 128),
            new Lstm(128, dropout: 0.2f, recurrentDropout: 0.2f, seed: seed + 1),
            new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Adam(), new BinaryCrossEntropy(), seed);
        return model;
    }

    /// <summary>imdb_lstm.py's review length (<c>maxlen</c>) and batch size.</summary>
    public const int ImdbLstmMaxLength = 80, ImdbLstmBatchSize = 32;

    /// <summary>
    /// imdb_cnn_lstm.py: Embedding(20000, 128) → Dropout(0.25) → Conv1D(64, 5, valid, relu) → MaxPooling1D(4) →
    /// LSTM(70) → Dense(1, sigmoid), binary cross-entropy, Adam; maxlen 100, batch 30, 2 epochs.
    /// </summary>
    public static Sequential ImdbCnnLstm(int seed)
    {
        var model = new Sequential([ImdbCnnLstmMaxLength],
            new Embedding(MaxFeatures, 128),
            new Dropout(0.25f, seed: seed + 1),
            new Conv1D(64, 5, activation: ActivationFunction.Relu),
            new MaxPooling1D(4),
            new Lstm(70),
            new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Adam(), new BinaryCrossEntropy(), seed);
        return model;
    }

    /// <summary>imdb_cnn_lstm.py's review length, batch size and epochs.</summary>
    public const int ImdbCnnLstmMaxLength = 100, ImdbCnnLstmBatchSize = 30, ImdbCnnLstmEpochs = 2;

    /// <summary>
    /// imdb_bidirectional_lstm.py: Embedding(20000, 128) → Bidirectional(LSTM(64)) → Dropout(0.5) → Dense(1, sigmoid),
    /// binary cross-entropy, Adam; maxlen 100, batch 32, 4 epochs.
    /// </summary>
    public static Sequential ImdbBidirectionalLstm(int seed)
    {
        var model = new Sequential([ImdbBidirectionalLstmMaxLength],
            new Embedding(MaxFeatures, 128),
            new Bidirectional(new Lstm(64)),
            new Dropout(0.5f, seed: seed + 1),
            new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Adam(), new BinaryCrossEntropy(), seed);
        return model;
    }

    /// <summary>imdb_bidirectional_lstm.py's review length, batch size and epochs.</summary>
    public const int ImdbBidirectionalLstmMaxLength = 100, ImdbBidirectionalLstmBatchSize = 32, ImdbBidirectionalLstmEpochs = 4;
}
