// CIFAR-10 with the classic Keras convnet:
//   Conv2D(32, 3x3, relu, valid) -> MaxPool(2) -> Flatten -> Dense(128, relu) -> Dense(10, softmax)
// sparse categorical cross-entropy, SGD (lr 0.01), batch 64, 10 epochs, all 50,000 training images,
// evaluated on the 10,000 test images. Pixels are scaled to [0, 1].
//
//   dotnet run -c Release --project examples/Cifar10 -- [--data PATH] [--epochs N] [--batch N] [--lr X]
//       [--optimizer sgd] [--threads N] [--subset N] [--augment] [--standardize] [--seed N] [--save PATH]
//
// --data takes the official cifar-10-binary.tar.gz, its extracted cifar-10-batches-bin folder, or a folder
// holding either; without it NanoNet looks in $NANONET_DATA. --save PATH writes the trained model to PATH
// (model.Save; with --standardize also PATH.standardizer.txt) for examples/Predict.
using System.Diagnostics;
using System.Globalization;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;
using NanoNet.Losses;

string? dataPath = null, savePath = null;
int epochs = 10, batchSize = 64, seed = 0;
int? subset = null;
float? learningRate = null; // null: the optimizer's Keras default (SGD: 0.01)
string optimizerName = "sgd";
bool augment = false, standardize = false;
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
            case "--lr": learningRate = commandLine.Float(); break;
            case "--optimizer": optimizerName = commandLine.Text(); break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--subset": subset = commandLine.Int(); break;
            case "--augment": augment = true; break;
            case "--standardize": standardize = true; break;
            case "--seed": seed = commandLine.Int(); break;
            case "--save": savePath = commandLine.Text(); break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data PATH --epochs N --batch N --lr X --optimizer NAME " +
                                        "--threads N --subset N --augment --standardize --seed N --save PATH");
                return 2;
        }
    }
}
catch (ArgumentException e) // a missing or malformed value
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (CifarData.Load(dataPath, subset, standardize) is not { } data)
    return 1;
(Dataset train, Dataset test, ChannelStandardizer? standardizer) = data;

Optimizer optimizer = Optimizers.Create(optimizerName, learningRate);
var model = new Sequential([32, 32, 3],
    new Conv2D(32, 3, activation: ActivationFunction.Relu),
    new MaxPool2D(2),
    new Flatten(),
    new Dense(128, ActivationFunction.Relu),
    new Dense(10, ActivationFunction.Softmax));
model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed);
Console.WriteLine(model.Summary());
Console.WriteLine($"Optimizer: {optimizer.GetType().Name} (lr {optimizer.CurrentLearningRate}), batch {batchSize}, {epochs} epochs{(augment ? ", augmentation on" : "")}");

CifarData.TrainReportAndSave(model, train, test, batchSize, epochs, seed, augment, standardizer, savePath);
return 0;
