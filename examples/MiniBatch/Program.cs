// The mini-batch lesson on Fashion-MNIST: the same MLP (784 -> 128 relu -> 10 softmax) trained with the
// same number of examples seen, varying (a) the batch size, (b) the optimizer, (c) the learning rate.
// Writes CSVs and SVG charts and prints a summary table. See README.md.
//
//   dotnet run -c Release --project examples/MiniBatch [-- --quick] [--data DIR] [--out DIR] [--threads N] [--epochs N]
using NanoNet.Examples.MiniBatch;

return MiniBatchLesson.Execute(args, Console.Out, Console.Error);
