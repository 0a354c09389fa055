namespace NanoNet.Kernels;

/// <summary>
/// A parallel loop over the images of a batch: workers take whole images, each its own contiguous part of the batch
/// first, then what is left in the others (<see cref="HomeRanges"/>). Each
/// image's result depends on that image alone, so the split never changes a sum's order and results are
/// the same at any thread count. Subclasses hold the call's arguments (pinned pointers) in fields and
/// are cached per thread, so a region allocates nothing.
/// </summary>
internal abstract class ImageJob : ParallelJob
{
    private readonly HomeRanges _images = new();

    /// <summary>Images in the batch.</summary>
    public int Batch;

    /// <summary>Runs <see cref="RunImage"/> for every image of a batch of <paramref name="batch"/> on the worker pool.</summary>
    public void Run(int batch)
    {
        Batch = batch;
        _images.Reset(batch, Parallelism.WorkersFor(batch));
        Parallelism.Run(this, batch);
    }

    /// <inheritdoc />
    public override void RunWorker(int worker, int workerCount)
    {
        int n, range = _images.HomeOf(worker);
        while ((n = _images.Take(ref range)) >= 0)
            RunImage(n);
    }

    /// <summary>The work of image <paramref name="n"/>.</summary>
    protected abstract void RunImage(int n);
}
