using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>A recurrent shape whose buffers would not fit an int length is refused with the shape named, before any length wraps.</summary>
public class RecurrentShapeSizeTests
{
    [Test]
    public void AShapeTooLargeForOneBufferIsRefusedWithItsDimensions()
    {
        // (T+1)·N·4U = 1,001 · 256 · 12,000 ≈ 3.1e9 floats: past int.MaxValue for the LSTM's gate and state buffers.
        var lstm = Assert.Throws<ArgumentException>(() => new LstmShape(256, 1000, 8, 3000).Validate());
        Assert.That(lstm!.Message, Does.Contain("LSTM").And.Contain("N=256").And.Contain("T=1000").And.Contain("U=3000"));
        Assert.Throws<ArgumentException>(() => new GruShape(256, 1000, 8, 3000).Validate());
        Assert.Throws<ArgumentException>(() => new SimpleRnnShape(256, 1000, 9000, 8).Validate());
        Assert.DoesNotThrow(() => new LstmShape(256, 1000, 8, 512).Validate(), "the same batch at U = 512 fits (about 0.5e9 floats)");
    }

    [Test]
    public void TheOpRefusesItBeforeSizingABuffer()
    {
        // The op checks the shape before it allocates the gate buffer a wrapped length would size:
        // (T+1)·N·4U = 1,001 · 1,024 · 2,400 ≈ 2.5e9 floats.
        var error = Assert.Throws<ArgumentException>(() => Ops.Lstm(Tensor.Zeros(1024, 1000, 8), Tensor.Zeros(8, 4 * 600),
            Tensor.Zeros(600, 4 * 600), Tensor.Zeros(4 * 600)));
        Assert.That(error!.Message, Does.Contain("N=1024").And.Contain("T=1000").And.Contain("more than one buffer can hold"));
    }
}
