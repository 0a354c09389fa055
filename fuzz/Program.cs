// Fuzzing of NanoNet's file formats.
//
//   dotnet run -c Release --project fuzz -- safetensors 10000 --seed 1   weights files (reader + LoadWeights)
//   dotnet run -c Release --project fuzz -- model 10000 --seed 1         whole-model files (Model.Load)
//   (add --kinds to list the most frequent kinds of rejection: which checks the inputs reached)
//   dotnet run -c Release --project fuzz -- regressions                  re-checks tests/Persistence/Regressions
//   dotnet run -c Release --project fuzz -- make-seeds [--data PATH]     rewrites tests/Persistence/Seeds (real data)
//   dotnet run -c Release --project fuzz -- measure                      file sizes and save/load times of the seed models
//
// A bug is any input on which a reader throws something other than an InvalidDataException naming the
// file, or hangs; each is written to --findings (default: fuzz-findings/) to become a regression case.
//
// Mutation fuzzing of NanoNet's readers (issue 15).
//   dotnet run -c Release --project fuzz -- <target|all> <count> [--seed N] [--no-save]
// Targets: idx, cifar10, imdb, csv, text. Each input must load or throw the reader's documented exception
// naming the file, within a memory and time bound; inputs that do not are saved under
// tests/Data/Regressions/<target>/ (unless --no-save) and the exit code is 1.
//
// Two engines live here side by side for now: fuzz/Mutation + fuzz/Targets (readers) and the format
// fuzzer (Mutator.cs, FuzzRun.cs, FuzzTarget.cs); see the note on issue 15 about unifying them.
using NanoNet.Fuzz.Formats;
using NanoNet.Fuzz.Targets;

return args.Length > 0 && FormatFuzzCommands.Commands.Contains(args[0]) || args.Length == 0 || args[0] is "help"
    ? FormatFuzzCommands.Run(args)
    : ReaderFuzzCommands.Run(args);
