// ResumeCheck: the new process of the exact-resume proof (tests/Persistence/ExactResumeTests.cs).
//
//   dotnet ResumeCheck.dll CIFAR_PATH IMAGES CHECKPOINT EPOCHS OUT_WEIGHTS OUT_LOSSES
//
// Loads the first IMAGES CIFAR-10 training images, builds the run of ResumeRecipe, loads CHECKPOINT
// into it (weights, Adam state, schedule position, augmentation generator, epoch), trains on to EPOCHS,
// and writes the final weights (safetensors) and the losses of the epochs it trained (bits in hex).
using System.Globalization;
using NanoNet.Persistence;
using NanoNet.ResumeCheck;

if (args.Length != 6)
{
    Console.Error.WriteLine("usage: ResumeCheck CIFAR_PATH IMAGES CHECKPOINT EPOCHS OUT_WEIGHTS OUT_LOSSES");
    return 2;
}
var train = ResumeRecipe.LoadTrain(args[0], int.Parse(args[1], CultureInfo.InvariantCulture));
var (model, augmentation) = ResumeRecipe.Create();
int done = ResumeRecipe.Restore(model, augmentation, args[2]);
var history = ResumeRecipe.Train(model, augmentation, train, done, int.Parse(args[3], CultureInfo.InvariantCulture));
model.SaveWeights(args[4]);
File.WriteAllText(args[5], ResumeRecipe.LossBits(history));
Console.WriteLine($"resumed after epoch {done}, trained epochs {string.Join(", ", history.Epochs.Select(e => e.Epoch))}");
return 0;
