using NanoNet.Memory;

namespace NanoNet.Tests;

/// <summary>The kernels' shared scratch buffers: reused once warm, whatever an earlier model left in the free list.</summary>
[NonParallelizable] // the free list is process-wide
public class ScratchBuffersTests
{
    [Test]
    public void SmallBuffersLeftByAnEarlierModelDoNotMakeEveryLargeRentAllocate()
    {
        ScratchBuffers.Trim();
        try
        {
            // An earlier model held many small buffers at once (more than the old fixed cap of 4 per core), then all came back.
            int generation = ScratchBuffers.Generation;
            float[][] small = [.. Enumerable.Range(0, 4 * Environment.ProcessorCount + 1).Select(_ => ScratchBuffers.Rent(16))];
            foreach (float[] buffer in small)
                ScratchBuffers.Return(buffer, generation);

            // A larger model's buffer: the first rent allocates it; once back it replaces a small one, and is reused.
            ScratchBuffers.Return(ScratchBuffers.Rent(1 << 16), generation);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 3; i++)
                ScratchBuffers.Return(ScratchBuffers.Rent(1 << 16), generation);
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "the large buffer is kept and reused");
        }
        finally
        {
            ScratchBuffers.Trim();
        }
    }

    [Test]
    public void TheFreeListKeepsNoMoreBuffersThanWereEverInUseAtOnce()
    {
        ScratchBuffers.Trim();
        try
        {
            int generation = ScratchBuffers.Generation;
            for (int i = 0; i < 10; i++) // one at a time, of growing sizes: only the largest is worth keeping
                ScratchBuffers.Return(ScratchBuffers.Rent(16 << i), generation);
            Assert.That(ScratchBuffers.IdleCount, Is.EqualTo(1));
            float[] kept = ScratchBuffers.Rent(1);
            Assert.That(kept, Has.Length.EqualTo((16 << 9) + CacheLineAlignment.SlackFloats), "the largest one is the one kept");
            ScratchBuffers.Return(kept, generation);

            float[] first = ScratchBuffers.Rent(8), second = ScratchBuffers.Rent(8); // now two at once
            ScratchBuffers.Return(first, generation);
            ScratchBuffers.Return(second, generation);
            Assert.That(ScratchBuffers.IdleCount, Is.EqualTo(2));
        }
        finally
        {
            ScratchBuffers.Trim();
        }
    }
}
