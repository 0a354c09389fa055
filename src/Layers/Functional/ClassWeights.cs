using System.Numerics.Tensors;
using NanoNet.Data;

namespace NanoNet.Layers;

/// <summary>Keras's <c>class_weight</c>: turned, once before training, into one sample weight per example.</summary>
internal static class ClassWeights
{
    /// <summary>
    /// <paramref name="data"/> with sample weights w[i] = classWeight[class of row i] (1 for classes not
    /// listed). The class of a row of the first target is its value rounded (class ids, 0/1 labels, (N) or
    /// (N, 1)), or the argmax of a one-hot row (N, C).
    /// </summary>
    /// <exception cref="ArgumentException">The data set already has sample weights, a weight is negative or not finite, or the targets are sequences.</exception>
    public static Dataset Apply(Dataset data, IReadOnlyDictionary<int, float> classWeight)
    {
        if (data.SampleWeights is not null)
            throw new ArgumentException("Fit: give either classWeight or the data set's SampleWeights, not both (fold the class weights into the sample weights).", nameof(classWeight));
        foreach ((int id, float weight) in classWeight)
            if (!(weight >= 0f) || float.IsInfinity(weight))
                throw new ArgumentException($"Fit: the weight {weight} of class {id} is not a finite non-negative number.", nameof(classWeight));
        Tensor targets = data.Targets[0];
        int rows = data.Count, perRow = rows == 0 ? 1 : targets.Length / rows;
        if (targets.Rank > 2)
            throw new ArgumentException($"Fit: classWeight needs targets of shape (N), (N, 1) or one-hot (N, C); got {Shapes.Format(targets.Shape)}.", nameof(classWeight));
        var weights = Tensor.Zeros(rows);
        ReadOnlySpan<float> values = targets.Span;
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> row = values.Slice(i * perRow, perRow);
            int id = perRow == 1 ? (int)MathF.Round(row[0]) : TensorPrimitives.IndexOfMax(row);
            weights[i] = classWeight.TryGetValue(id, out float weight) ? weight : 1f;
        }
        return new Dataset([.. data.Inputs], [.. data.Targets]) { DescribeRow = data.DescribeRow, SampleWeights = weights };
    }
}
