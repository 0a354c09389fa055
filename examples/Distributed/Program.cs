// Data-parallel training of the CIFAR-10 seed model (examples/Cifar10's convnet) on MPI: the program
// mpirun starts once per process. Every rank trains on its shard of each global batch of
// --batch × (processes) images; gradients are averaged across ranks in buckets before each update;
// rank 0 prints the global metrics and writes the files.
//
//   mpirun -np 2 dotnet examples/Distributed/bin/Release/net10.0/Distributed.dll --data ../shared/data --subset 5000 --threads 1
//   (as root add --allow-run-as-root; with more ranks than cores, --oversubscribe)
//
// Options: --data PATH --subset N (first N training images) --epochs N --batch N (per process) --lr X --seed N
//   --threads N (kernel threads per process) --bucket-kb N (all-reduce bucket, default 1024) --no-overlap
//   --weights PATH (raw float32 weights after training, layer by layer; "{rank}" in PATH makes every rank write
//   its own, else rank 0 only) --checkpoint PATH (ModelCheckpoint on rank 0, e.g. "ckpt/epoch-{epoch}.ckpt")
//   --fail-rank R --fail-step S (rank R crashes with Environment.FailFast after step S: the fault test)
//   --validate (evaluate the test set after every epoch) --accumulate N (gradientAccumulationSteps)
//   --allreduce-benchmark N (no training: time N all-reduces of the model's gradient size, blocking and non-blocking, after a barrier)
using System.Diagnostics;
using System.Runtime.InteropServices;
using NanoNet;
using NanoNet.Data;
using NanoNet.Distributed;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

string? dataPath = null, weightsPath = null, checkpointPath = null;
int epochs = 1, batchSize = 32, seed = 0, bucketKb = 1024, failRank = -1, failStep = -1, allReduceRounds = 0, accumulate = 1;
int? subset = null;
float learningRate = 0.02f;
bool overlap = true, validate = false;
var commandLine = new CommandLine(args);
try
{
    while (commandLine.Next(out string option))
    {
        switch (option)
        {
            case "--data": dataPath = commandLine.Text(); break;
            case "--subset": subset = commandLine.Int(); break;
            case "--epochs": epochs = commandLine.Int(); break;
            case "--batch": batchSize = commandLine.Int(); break;
            case "--lr": learningRate = commandLine.Float(); break;
            case "--seed": seed = commandLine.Int(); break;
            case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
            case "--bucket-kb": bucketKb = commandLine.Int(); break;
            case "--no-overlap": overlap = false; break;
            case "--weights": weightsPath = commandLine.Text(); break;
            case "--checkpoint": checkpointPath = commandLine.Text(); break;
            case "--fail-rank": failRank = commandLine.Int(); break;
            case "--fail-step": failStep = commandLine.Int(); break;
            case "--validate": validate = true; break;
            case "--accumulate": accumulate = commandLine.Int(); break;
            case "--allreduce-benchmark": allReduceRounds = commandLine.Int(); break;
            default:
                Console.Error.WriteLine($"Unknown option {option}. Options: --data PATH --subset N --epochs N --batch N --lr X --seed N --threads N " +
                                        "--bucket-kb N --no-overlap --weights PATH --checkpoint PATH --fail-rank R --fail-step S --validate --accumulate N --allreduce-benchmark N");
                return 2;
        }
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using MpiWorld mpi = MpiWorld.Initialize();
if (allReduceRounds > 0)
{
    var gradients = new float[923_914]; // the CIFAR-10 seed model's parameter count
    for (int round = 0; round < 2; round++) // the first round warms up the connections
        foreach (int chunk in new[] { gradients.Length, 262_144, 0 })
        {
            mpi.Barrier();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < allReduceRounds; i++)
                if (chunk == 0)
                    mpi.Barrier();
                else
                    for (int start = 0; start < gradients.Length; start += chunk)
                        mpi.AllReduceSum(gradients.AsSpan(start, Math.Min(chunk, gradients.Length - start)));
            double ms = clock.Elapsed.TotalMilliseconds / allReduceRounds;
            if (mpi.IsRoot && round == 1)
                Console.WriteLine(chunk == 0 ? $"MPI_Barrier across {mpi.Size} ranks: {ms * 1000:F0} µs"
                    : $"MPI_Allreduce of {gradients.Length * 4 / 1048576.0:F2} MB in pieces of {chunk * 4 / 1048576.0:F2} MB across {mpi.Size} ranks: {ms:F2} ms");
        }
    return 0;
}
string rank = $"rank {mpi.Rank}/{mpi.Size}";
Dataset train, test;
try
{
    (train, test) = Cifar10.Load(Cifar10.Locate(dataPath), trainLimit: subset);
}
catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException)
{
    Console.Error.WriteLine($"{rank}: {e.Message}");
    mpi.Abort(1); // the other ranks would wait for this one forever
    return 1;
}

var model = new Sequential([32, 32, 3],
    new Conv2D(32, 3, activation: ActivationFunction.Relu),
    new MaxPool2D(2),
    new Flatten(),
    new Dense(128, ActivationFunction.Relu),
    new Dense(10, ActivationFunction.Softmax));
model.Compile(new Sgd(learningRate), new SparseCategoricalCrossEntropy(), seed);
using var parallel = new DataParallel(mpi, model, bucketKb * 1024, overlap);

if (mpi.IsRoot)
    Console.WriteLine($"{mpi.Size} process(es) on {mpi.Library}, {Parallelism.MaxThreads} thread(s) each; {train.Count:N0} training images; " +
                      $"batch {batchSize} per process = {batchSize * mpi.Size} global; SGD lr {learningRate}; buckets of {bucketKb} KB{(overlap ? "" : ", no overlap")}");

long allocatedAtStep2 = 0, allocatedAtLast = 0, lastStep = 0;
var callbacks = new List<Callback> { parallel, new LambdaCallback(onBatchEnd: b =>
{
    // Managed bytes this thread allocated per steady step (from step 2 on; the first step sets up).
    long now = GC.GetAllocatedBytesForCurrentThread();
    if (b.Step == 2)
        allocatedAtStep2 = now;
    (allocatedAtLast, lastStep) = (now, b.Step);
}) };
if (failRank >= 0)
    callbacks.Add(new LambdaCallback(onBatchEnd: b =>
    {
        if (mpi.Rank == failRank && b.Step == failStep)
            Environment.FailFast($"rank {mpi.Rank}: crashing on purpose after step {b.Step} (--fail-rank {failRank} --fail-step {failStep})");
    }));
if (checkpointPath is not null)
    callbacks.Add(parallel.OnRootOnly(new ModelCheckpoint(checkpointPath)));

var wall = Stopwatch.StartNew();
TrainingHistory history = model.Fit(train, batchSize, epochs, shuffle: true, validation: validate ? test : null, seed: seed, callbacks: callbacks,
    gradientAccumulationSteps: accumulate);
wall.Stop();

double seconds = history.Epochs.Sum(e => e.Seconds);
AllReduceStatistics stats = parallel.Statistics;
if (mpi.IsRoot && history.Epochs.Count > 0)
{
    Console.WriteLine($"global loss {history.Last.Loss:F6}, accuracy {history.Last.Accuracy:P2}; {stats.Steps / seconds:F2} steps/s, " +
                      $"{history.Epochs.Sum(e => e.SamplesPerSecond * e.Seconds) / seconds:N0} images/s (all ranks), wall {wall.Elapsed.TotalSeconds:F1} s");
    Console.WriteLine($"all-reduce: {stats}; {100 * stats.ReduceSeconds / seconds:F1}% of the training time");
}
if (lastStep > 2) // every rank: rank 0's figure includes its console progress bar
    Console.WriteLine($"{rank}: managed bytes allocated per step from step 2 to {lastStep} (the training thread): {(allocatedAtLast - allocatedAtStep2) / (lastStep - 2)} B");
if (weightsPath is not null && (mpi.IsRoot || weightsPath.Contains("{rank}")))
{
    using FileStream file = File.Create(weightsPath.Replace("{rank}", mpi.Rank.ToString()));
    foreach (Tensor weight in model.Weights)
        file.Write(MemoryMarshal.AsBytes(weight.Span));
}
return 0;
