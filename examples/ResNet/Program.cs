// CIFAR-10 with a small residual network, written with the Functional API (layers called on symbolic
// tensors, shortcuts joined by Add), and a custom layer (GlobalAveragePooling.cs):
//
//   stem   Conv2D(w, 3x3, same, relu)                                          32x32xw
//   stage 1: 2 residual blocks, w filters                                     32x32xw
//   stage 2: 2 residual blocks, 2w filters, the first with stride 2          16x16x2w
//   stage 3: 2 residual blocks, 4w filters, the first with stride 2           8x8x4w
//   GlobalAveragePooling -> Dense(10, softmax)
//
// A block is conv3x3-relu-conv3x3, added to its shortcut, then relu; a downsampling block's shortcut
// is a 1x1 stride-2 Conv2D projection. There is no batch normalization. Sparse categorical
// cross-entropy, Adam (lr 1e-3), batch 64, 10 epochs, all 50,000 training images, evaluated on the
// 10,000 test images. Pixels are scaled to [0, 1].
//
//   dotnet run -c Release --project examples/ResNet -- [--data PATH] [--epochs N] [--batch N] [--lr X]
//       [--optimizer adam] [--width N] [--cosine] [--threads N] [--subset N] [--augment] [--standardize] [--seed N]
//       [--save PATH]
//
// --data takes the official cifar-10-binary.tar.gz, its extracted cifar-10-batches-bin folder, or a folder
// holding either; without it NanoNet looks in $NANONET_DATA. --width is w above (default 16); --cosine
// decays the learning rate to zero over the run (cosine schedule). --save PATH writes the trained model to
// PATH (model.Save; with --standardize also PATH.standardizer.txt) for examples/Predict, which registers the
// custom layer before loading it (GlobalAveragePooling.Register).
using System.Diagnostics;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

string? dataPath = null, savePath = null;
int epochs = 10, batchSize = 64, seed = 0, width = 16;
int? subset = null;
float? learningRate = null; // null: the optimizer's Keras default (Adam: 0.001)
string optimizerName = "adam";
bool augment = false, standardize = false, cosine = false, pool = true;
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
            case "--width": width = commandLine.Int(); break;
            case "--cosine": cosine = true; break;
            case "--no-pool": pool = false; break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--subset": subset = commandLine.Int(); break;
            case "--augment": augment = true; break;
            case "--standardize": standardize = true; break;
            case "--seed": seed = commandLine.Int(); break;
            case "--save": savePath = commandLine.Text(); break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data PATH --epochs N --batch N --lr X --optimizer NAME " +
                                        "--width N --cosine --no-pool --threads N --subset N --augment --standardize --seed N --save PATH");
                return 2;
        }
    }
    if (width < 1)
        throw new ArgumentException($"--width needs a positive integer, got {width}.");
}
catch (ArgumentException e) // a missing or malformed value
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (CifarData.Load(dataPath, subset, standardize) is not { } data)
    return 1;
(Dataset train, Dataset test, ChannelStandardizer? standardizer) = data;

Optimizer optimizer;
try
{
    optimizer = Optimizers.Create(optimizerName, learningRate);
}
catch (ArgumentException e) // an unknown optimizer or a bad learning rate
{
    Console.Error.WriteLine($"--optimizer / --lr: {e.Message}");
    return 2;
}
int stepsPerEpoch = (train.Count + batchSize - 1) / batchSize;
if (cosine)
    optimizer.Schedule = new CosineDecay(optimizer.LearningRate, decaySteps: (long)stepsPerEpoch * epochs);

// The network, Functional API: each layer is called on the symbolic tensor before it.
var image = new Input([32, 32, 3], "image");
SymbolicTensor x = new Conv2D(width, 3, padding: "same", activation: ActivationFunction.Relu, name: "stem").Call(image);
if (pool)
    x = new MaxPool2D(2, name: "stem_pool").Call(x); // the stages then run at 16x16, 8x8 and 4x4: a quarter of the work
int[] stageFilters = [width, 2 * width, 4 * width];
for (int stage = 0; stage < stageFilters.Length; stage++)
    for (int block = 0; block < 2; block++)
        x = ResidualBlock(x, stageFilters[stage], downsample: stage > 0 && block == 0, $"s{stage + 1}b{block + 1}");
x = new GlobalAveragePooling("pool").Call(x);
SymbolicTensor probabilities = new Dense(10, ActivationFunction.Softmax, name: "classifier").Call(x);
var model = new Model(image, probabilities, "resnet");

model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed);
Console.WriteLine(model.Summary());
Console.WriteLine($"Optimizer: {optimizer.GetType().Name} (lr {optimizer.CurrentLearningRate}{(cosine ? ", cosine decay to 0" : "")}), " +
                  $"batch {batchSize}, {epochs} epochs{(augment ? ", augmentation on" : "")}{(standardize ? ", standardized" : "")}");

CifarData.TrainReportAndSave(model, train, test, batchSize, epochs, seed, augment, standardizer, savePath);
return 0;

// conv3x3-relu-conv3x3, added to the shortcut, then relu. A downsampling block halves the height and
// width with a stride-2 first convolution, and projects the shortcut to the new shape with a 1x1
// stride-2 convolution; otherwise the shortcut is the block's input itself.
static SymbolicTensor ResidualBlock(SymbolicTensor input, int filters, bool downsample, string name)
{
    int stride = downsample ? 2 : 1;
    SymbolicTensor y = new Conv2D(filters, 3, stride, "same", ActivationFunction.Relu, name: $"{name}_conv1").Call(input);
    y = new Conv2D(filters, 3, padding: "same", name: $"{name}_conv2").Call(y);
    SymbolicTensor shortcut = downsample || input.Shape[^1] != filters
        ? new Conv2D(filters, 1, stride, "same", name: $"{name}_project").Call(input)
        : input;
    SymbolicTensor sum = new Add($"{name}_add").Call(shortcut, y);
    return new Activation(ActivationFunction.Relu, $"{name}_relu").Call(sum);
}
