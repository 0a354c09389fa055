using NanoNet.Data;
using NanoNet.Distributed;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Docs.Samples;

/// <summary>The sample of docs/distributed.md: the program every MPI rank runs (compiled; it needs mpirun to run as a job).</summary>
public static class DistributedSamples
{
    /// <summary>Trains <paramref name="train"/> data-parallel on every rank of the MPI job; returns the history.</summary>
    public static TrainingHistory TrainOnEveryRank(Dataset train)
    {
        #region data-parallel
        using MpiWorld mpi = MpiWorld.Initialize();              // MPI_Init; the job's ranks and size
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f * mpi.Size), new SparseCategoricalCrossEntropy(), seed: 0);   // lr scaled with the global batch
        using var parallel = new DataParallel(mpi, model);       // buckets of 1 MB; bucketBytes: to change
        return model.Fit(train, batchSize: 64, epochs: 10, seed: 0,   // 64 per rank: a global batch of 64 × size
            callbacks: [parallel, parallel.OnRootOnly(new ModelCheckpoint("ckpt/epoch-{epoch}.ckpt"))]);
        #endregion
    }
}
