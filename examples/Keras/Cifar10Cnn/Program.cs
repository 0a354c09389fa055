// Keras's reference example cifar10_cnn.py, layer for layer and with its hyper-parameters:
//
//   Conv2D(32, 3x3, same) relu -> Conv2D(32, 3x3, valid) relu -> MaxPooling2D(2) -> Dropout(0.25)
//   Conv2D(64, 3x3, same) relu -> Conv2D(64, 3x3, valid) relu -> MaxPooling2D(2) -> Dropout(0.25)
//   Flatten -> Dense(512) relu -> Dropout(0.5) -> Dense(10) softmax
//
// categorical cross-entropy, RMSprop(learning_rate 1e-4, decay 1e-6) in Keras 2's form (ε added to the root), batch
// 32, pixels scaled to [0, 1], and ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
// fill_mode='nearest', horizontal_flip=True) reading the nearest pixel, as Keras 2 did, on the training batches; the 10,000 test images are the validation data after every epoch. Keras's
// docstring: 75% validation accuracy after 25 epochs, 79% after 50. ~125 MFLOP per training image.
//
//   dotnet run -c Release --project examples/Keras/Cifar10Cnn -- [--data PATH] [--epochs N] [--batch N]
//       [--threads N] [--subset N] [--no-augment] [--seed N] [--charts DIR] [--save PATH]
//
// The model, optimizer and augmentation are defined in ../Shared/KerasModels.cs (the tests train them too).
using System.Diagnostics;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Examples.Keras;
using NanoNet.Persistence;

string? dataPath = null, savePath = null, chartDirectory = null;
int epochs = 25, batchSize = KerasModels.Cifar10CnnBatchSize, seed = 0;
int? subset = null;
bool augment = true;
var commandLine = new CommandLine(args);
try
{
    while (commandLine.Next(out string option))
    {
        switch (option)
        {
            case "--data": dataPath = commandLine.Text(); break;
            case "--epochs": epochs = commandLine.Int(); break;
            case "--batch": batchSize = commandLine.Int(); break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--subset": subset = commandLine.Int(); break;
            case "--no-augment": augment = false; break;
            case "--seed": seed = commandLine.Int(); break;
            case "--charts": chartDirectory = commandLine.Text(); break;
            case "--save": savePath = commandLine.Text(); break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data PATH --epochs N --batch N --threads N --subset N " +
                                        "--no-augment --seed N --charts DIR --save PATH");
                return 2;
        }
    }
}
catch (ArgumentException e) // a missing or malformed value
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (CifarData.Load(dataPath, subset, standardize: false) is not { } data)
    return 1;
(Dataset train, Dataset test, _) = data;

Sequential model = KerasModels.Cifar10Cnn(seed);
Console.WriteLine(model.Summary());

ImageAugmentation? augmentation = augment ? KerasModels.Cifar10CnnAugmentation(seed) : null;
Console.WriteLine($"RMSprop(1e-4, decay 1e-6, Keras 2 form), batch {batchSize}, {epochs} epochs, " +
                  (augment ? "shifts of up to 10% (nearest fill) and horizontal flips" : "no augmentation"));

var wall = Stopwatch.StartNew();
TrainingHistory history = model.Fit(train, batchSize, epochs, shuffle: true, validation: test, seed: seed,
    batchTransform: augmentation is null ? null : batch => augmentation.Apply(batch.Features));
wall.Stop();

Evaluation result = model.Evaluate(test);
double trainSeconds = history.Epochs.Sum(e => e.Seconds);
Console.WriteLine($"Test accuracy: {result.Accuracy:P2} (loss {result.Loss:F4}) after {history.Epochs.Count} epochs");
Console.WriteLine($"Training: {trainSeconds / history.Epochs.Count:F1} s per epoch, {(double)train.Count * history.Epochs.Count / trainSeconds:N0} images/s; " +
                  $"total wall time {wall.Elapsed.TotalMinutes:F1} min (including the per-epoch evaluation)");
if (chartDirectory is not null)
    foreach (string file in TrainingCurves.Write(chartDirectory, "cifar10_cnn", "Keras cifar10_cnn", history))
        Console.WriteLine($"Wrote {file}");
if (savePath is not null)
{
    model.Save(savePath);
    Console.WriteLine($"Saved the model to {savePath}");
}
return 0;
