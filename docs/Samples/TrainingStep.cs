using NanoNet.Data;
using NanoNet.Losses;
using NanoNet.Memory;
using NanoNet.Optim;

namespace NanoNet.Docs.Samples;

/// <summary>Samples of docs/training-step.md.</summary>
public static class TrainingStep
{
    /// <summary>Three classes in four features: the label of a row is the argmax of a fixed linear map.</summary>
    public static Dataset ThreeClasses(int rows, int seed = 1)
    {
        Tensor x = Tensor.RandomNormal([rows, 4], seed: seed);
        Tensor labels = Tensor.Zeros(rows);
        for (int n = 0; n < rows; n++)
        {
            float a = x[n, 0] + x[n, 1], b = x[n, 2] - x[n, 0], c = x[n, 3];
            labels[n] = a >= b && a >= c ? 0 : b >= c ? 1 : 2;
        }
        return new Dataset(x, labels);
    }

    /// <summary>The loop Model.Fit runs, written out with ops; returns the mean loss of the first and last epoch.</summary>
    public static (float First, float Last) TinyLoop(Dataset data, int batchSize, int epochs = 5)
    {
        var first = 0f;
        var last = 0f;
        #region tiny-loop
        var w = Tensor.RandomNormal([4, 3], std: 0.1f).AsParameter("w");   // (D, C)
        var b = Tensor.Zeros(3).AsParameter("b");                          // (C)
        Tensor[] parameters = [w, b];
        var optimizer = new Sgd(learningRate: 0.5f);
        var crossEntropy = new SparseCategoricalCrossEntropy(fromLogits: true);
        var loader = new MiniBatchLoader(data, batchSize, shuffle: true, seed: 0);  // 1 = SGD, data.Count = batch GD
        var memory = new StepMemory();

        for (int epoch = 0; epoch < epochs; epoch++)
        {
            float total = 0f;
            foreach (Dataset batch in loader.NextEpoch())                   // x (B, D), labels (B)
            {
                memory.Release();                                           // the previous step's tensors die here
                using (memory.Use())
                {
                    Tensor logits = Ops.MatMul(batch.Features, w) + b;      // (B, C); b broadcasts over the rows
                    Tensor loss = crossEntropy.Compute(logits, batch.Targets[0]);  // scalar, mean over the batch
                    loss.Backward();                                        // fills w.Grad and b.Grad
                    total += loss[0] * batch.Count;
                }
                optimizer.Step(parameters);                                 // reduce → clip → regularize → update
                Optimizer.ZeroGradients(parameters);
            }
            float mean = total / data.Count;
            if (epoch == 0) first = mean;
            last = mean;
        }
        memory.Release();
        #endregion
        return (first, last);
    }
}
