using NanoNet.Autograd;

namespace NanoNet.Layers;

public partial class Model
{
    /// <summary>
    /// The prediction for one sample of a one-input, one-output model, written into <paramref name="output"/>:
    /// for an app that classifies one input at a time. After the first call (which builds the pass's buffers)
    /// a call allocates nothing.
    /// </summary>
    /// <param name="sample">One input row, flattened: as many values as the input shape holds (e.g. 32·32·3).</param>
    /// <param name="output">Receives the output row, flattened: as many values as the output shape holds.</param>
    /// <remarks>Safe to call from many threads at once, like <see cref="Predict(Tensor, int)"/>.</remarks>
    public void Predict(ReadOnlySpan<float> sample, Span<float> output)
    {
        RequireSingle("Predict");
        EnsureGraph();
        int inputSize = Shapes.Product(_inputs[0].Shape), outputSize = Shapes.Product(_outputs[0].Shape);
        if (sample.Length != inputSize)
            throw new ArgumentException($"Model '{Name}' takes samples of shape {Shapes.Format(_inputs[0].Shape)} ({inputSize} values) but was given {sample.Length}.", nameof(sample));
        if (output.Length != outputSize)
            throw new ArgumentException($"Model '{Name}' returns {outputSize} values per sample ({Shapes.Format(_outputs[0].Shape)}) but the output span holds {output.Length}.", nameof(output));
        GraphPass pass = _inferencePasses.Rent();
        try
        {
            // One reusable (1, ...input shape) tensor per pass: an ordinary array, outside step memory.
            Tensor row = pass.OneSample ??= Tensor.Zeros([1, .. _inputs[0].Shape]);
            sample.CopyTo(row.Span);
            pass.OneInput[0] = row;
            using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
            using (Tape.NoGrad())
            {
                pass.Memory.Release();
                using (pass.Memory.Use())
                {
                    Run(pass, pass.OneInput, training: false, fuseWith: null);
                    pass.Values[_outputSlots[0]]!.Span.CopyTo(output);
                }
            }
        }
        finally
        {
            _inferencePasses.Return(pass);
        }
    }
}
