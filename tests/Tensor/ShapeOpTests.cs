using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The shape ops (Transpose, Permute, Concat, Split, Slice, Pad, IndexSelect/Gather, Squeeze, Unsqueeze):
/// fast kernels against their reference twins, each op against a plain reference written here with
/// explicit index arithmetic, round trips, gradient checks, and the wording of the errors.
/// </summary>
public class ShapeOpTests
{
    // Awkward shapes: ranks 1 to 5, size-1 axes, size-0 axes, odd sizes around the 8×8 and 32×32 tiles.
    private static readonly int[][] AwkwardShapes =
    [
        [7], [0], [1], [3, 1], [1, 5], [9, 13], [0, 4], [2, 3, 4], [1, 1, 1], [5, 0, 3], [3, 17, 33],
        [2, 1, 3, 1], [2, 3, 4, 5], [3, 9, 1, 10], [2, 2, 1, 3, 2], [2, 3, 1, 4, 5],
    ];

    private static IEnumerable<TestCaseData> ShapeCases() =>
        AwkwardShapes.Select(s => new TestCaseData(s).SetName($"{{m}}({string.Join("x", s)})"));

    // ---- plain references, index arithmetic spelled out --------------------------------------

    private static int[] Unravel(int flat, int[] shape)
    {
        int[] index = new int[shape.Length];
        for (int k = shape.Length - 1; k >= 0; k--)
        {
            index[k] = flat % shape[k];
            flat /= shape[k];
        }
        return index;
    }

    private static int Ravel(int[] index, int[] shape)
    {
        int flat = 0;
        for (int k = 0; k < shape.Length; k++)
            flat = flat * shape[k] + index[k];
        return flat;
    }

    private static int Normalise(int axis, int rank) => axis < 0 ? axis + rank : axis;

    private static float[] ReferencePermute(Tensor x, int[] axes)
    {
        int[] shape = x.Shape.ToArray();
        int[] outShape = axes.Select(a => shape[a]).ToArray();
        var y = new float[x.Length];
        for (int flat = 0; flat < y.Length; flat++)
        {
            int[] i = Unravel(flat, outShape);
            int[] j = new int[shape.Length];
            for (int k = 0; k < axes.Length; k++)
                j[axes[k]] = i[k];
            y[flat] = x[Ravel(j, shape)];
        }
        return y;
    }

    private static float[] ReferenceConcat(Tensor[] xs, int axis)
    {
        int[] first = xs[0].Shape.ToArray();
        int[] outShape = (int[])first.Clone();
        outShape[axis] = xs.Sum(t => t.Dim(axis));
        var y = new float[outShape.Aggregate(1, (p, d) => p * d)];
        for (int flat = 0; flat < y.Length; flat++)
        {
            int[] i = Unravel(flat, outShape);
            int t = 0, position = i[axis];
            while (position >= xs[t].Dim(axis))
                position -= xs[t++].Dim(axis);
            i[axis] = position;
            y[flat] = xs[t][Ravel(i, xs[t].Shape.ToArray())];
        }
        return y;
    }

    private static float[] ReferenceSlice(Tensor x, int[] starts, int[] lengths)
    {
        int[] shape = x.Shape.ToArray();
        var y = new float[lengths.Aggregate(1, (p, d) => p * d)];
        for (int flat = 0; flat < y.Length; flat++)
        {
            int[] i = Unravel(flat, lengths);
            for (int k = 0; k < i.Length; k++)
                i[k] += starts[k];
            y[flat] = x[Ravel(i, shape)];
        }
        return y;
    }

    private static float[] ReferencePad(Tensor x, (int Before, int After)[] padding, float value)
    {
        int[] shape = x.Shape.ToArray();
        int[] outShape = shape.Select((d, k) => padding[k].Before + d + padding[k].After).ToArray();
        var y = new float[outShape.Aggregate(1, (p, d) => p * d)];
        for (int flat = 0; flat < y.Length; flat++)
        {
            int[] i = Unravel(flat, outShape);
            bool inside = true;
            for (int k = 0; k < i.Length; k++)
            {
                i[k] -= padding[k].Before;
                inside &= i[k] >= 0 && i[k] < shape[k];
            }
            y[flat] = inside ? x[Ravel(i, shape)] : value;
        }
        return y;
    }

    private static float[] ReferenceIndexSelect(Tensor x, int axis, int[] indices)
    {
        int[] shape = x.Shape.ToArray();
        int[] outShape = (int[])shape.Clone();
        outShape[axis] = indices.Length;
        var y = new float[outShape.Aggregate(1, (p, d) => p * d)];
        for (int flat = 0; flat < y.Length; flat++)
        {
            int[] i = Unravel(flat, outShape);
            i[axis] = indices[i[axis]];
            y[flat] = x[Ravel(i, shape)];
        }
        return y;
    }

    private static IEnumerable<int[]> Permutations(int n)
    {
        if (n == 0)
        {
            yield return [];
            yield break;
        }
        foreach (int[] rest in Permutations(n - 1))
            for (int position = 0; position <= rest.Length; position++)
            {
                var p = new List<int>(rest);
                p.Insert(position, n - 1);
                yield return [.. p];
            }
    }

    private static Tensor Values(int[] shape, int seed) => Tensor.RandomUniform(shape, -1f, 1f, seed);

    private static void AssertShape(Tensor t, params int[] expected) => Assert.That(t.Shape.ToArray(), Is.EqualTo(expected));

    // ---- kernels against their reference twins ---------------------------------------------

    [TestCaseSource(nameof(ShapeCases))]
    public void PermuteKernelMatchesReferenceForEveryPermutation(int[] shape)
    {
        IEnumerable<int[]> perms = shape.Length <= 4 ? Permutations(shape.Length)
            : [[4, 3, 2, 1, 0], [0, 2, 1, 3, 4], [1, 0, 4, 2, 3], [0, 1, 2, 4, 3], [3, 4, 0, 1, 2]];
        float[] x = Values(shape, 1).ToArray();
        foreach (int[] axes in perms)
        {
            float[] start = Values([x.Length], 2).ToArray();
            float[] fast = (float[])start.Clone(), slow = (float[])start.Clone();
            PermuteKernels.Permute(x, shape, axes, fast);
            ShapeReference.Permute(x, shape, axes, slow);
            Assert.That(fast, Is.EqualTo(slow), $"permute {string.Join(",", axes)}");
            fast = (float[])start.Clone();
            slow = (float[])start.Clone();
            PermuteKernels.Permute(x, shape, axes, fast, accumulate: true);
            ShapeReference.Permute(x, shape, axes, slow, accumulate: true);
            Assert.That(fast, Is.EqualTo(slow), $"accumulating permute {string.Join(",", axes)}");
        }
    }

    /// <summary>Large enough for the AVX tiles, the scalar edges and the parallel split, at 1 and 2 threads.</summary>
    [TestCase(1)]
    [TestCase(2)]
    public void PermuteKernelMatchesReferenceOnLargeShapes(int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            (int[] Shape, int[] Axes)[] cases =
            [
                ([3, 67, 301], [0, 2, 1]), ([301, 259], [1, 0]), ([4, 40, 8, 64], [0, 2, 1, 3]),
                ([5, 33, 41, 7], [3, 1, 0, 2]), ([2, 3, 4, 5000], [3, 2, 1, 0]), ([1, 70000], [1, 0]), ([70000, 2], [1, 0]),
            ];
            foreach ((int[] shape, int[] axes) in cases)
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] x = Values(shape, 3).ToArray();
                    float[] fast = Values([x.Length], 4).ToArray(), slow = (float[])fast.Clone();
                    PermuteKernels.Permute(x, shape, axes, fast, accumulate);
                    ShapeReference.Permute(x, shape, axes, slow, accumulate);
                    Assert.That(fast, Is.EqualTo(slow), $"{string.Join("x", shape)} by {string.Join(",", axes)}, accumulate {accumulate}");
                }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    public void WindowKernelMatchesReference(int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            var random = new Random(5);
            int[][] shapes = [.. AwkwardShapes.Where(s => s.All(d => d > 0)), [300, 260], [2, 200, 300], [70000]];
            foreach (int[] sourceShape in shapes)
                for (int trial = 0; trial < 6; trial++)
                {
                    int rank = sourceShape.Length;
                    int[] size = sourceShape.Select(d => trial == 0 ? d : random.Next(0, d + 1)).ToArray();
                    int[] sourceStart = sourceShape.Select((d, k) => random.Next(0, d - size[k] + 1)).ToArray();
                    int[] destinationShape = size.Select(l => l + (trial % 2 == 0 ? 0 : random.Next(0, 3))).ToArray();
                    int[] destinationStart = destinationShape.Select((d, k) => random.Next(0, d - size[k] + 1)).ToArray();
                    float[] source = Values(sourceShape, trial).ToArray();
                    int destinationLength = destinationShape.Aggregate(1, (p, d) => p * d);
                    foreach (bool accumulate in new[] { false, true })
                    {
                        float[] fast = Values([destinationLength], 9).ToArray(), slow = (float[])fast.Clone();
                        WindowKernels.CopyWindow(source, sourceShape, sourceStart, fast, destinationShape, destinationStart, size, accumulate);
                        ShapeReference.CopyWindow(source, sourceShape, sourceStart, slow, destinationShape, destinationStart, size, accumulate);
                        Assert.That(fast, Is.EqualTo(slow), $"{string.Join("x", size)} from {string.Join("x", sourceShape)} to {string.Join("x", destinationShape)}");
                    }
                }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [TestCase(1, 1)]
    [TestCase(1, 2)]
    [TestCase(300, 2)]
    public void IndexSelectKernelsMatchReference(int outer, int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            const int axisSize = 11, inner = 230;
            int[] indices = [3, 0, 10, 3, 3, 7, 0];
            float[] x = Values([outer * axisSize * inner], 1).ToArray();
            float[] fast = new float[outer * indices.Length * inner], slow = new float[fast.Length];
            IndexSelectKernels.Gather(x, indices, fast, outer, axisSize, inner);
            ShapeReference.Gather(x, indices, slow, outer, axisSize, inner);
            Assert.That(fast, Is.EqualTo(slow));

            float[] dY = Values([fast.Length], 2).ToArray();
            float[] dXFast = Values([x.Length], 3).ToArray(), dXSlow = (float[])dXFast.Clone();
            IndexSelectKernels.ScatterAdd(dY, indices, dXFast, outer, axisSize, inner);
            ShapeReference.ScatterAdd(dY, indices, dXSlow, outer, axisSize, inner);
            Assert.That(dXFast, Is.EqualTo(dXSlow), "repeated indices must accumulate in index order");
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    // ---- ops against the plain references -------------------------------------------------

    [TestCaseSource(nameof(ShapeCases))]
    public void PermuteMatchesReference(int[] shape)
    {
        Tensor x = Values(shape, 6);
        foreach (int[] axes in shape.Length <= 4 ? Permutations(shape.Length) : [[4, 0, 3, 1, 2], [0, 1, 2, 4, 3]])
        {
            Tensor y = Ops.Permute(x, axes);
            AssertShape(y, axes.Select(a => shape[a]).ToArray());
            Assert.That(y.ToArray(), Is.EqualTo(ReferencePermute(x, axes)));
            // The same permutation written with negative axes.
            Assert.That(Ops.Permute(x, axes.Select(a => a - shape.Length).ToArray()).ToArray(), Is.EqualTo(y.ToArray()));
        }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void TransposeMatchesReferenceOnEveryPairOfAxes(int[] shape)
    {
        Tensor x = Values(shape, 7);
        int rank = shape.Length;
        for (int a = -rank; a < rank; a++)
            for (int b = -rank; b < rank; b++)
            {
                int[] axes = Enumerable.Range(0, rank).ToArray();
                (axes[Normalise(a, rank)], axes[Normalise(b, rank)]) = (Normalise(b, rank), Normalise(a, rank));
                Tensor y = Ops.Transpose(x, a, b);
                AssertShape(y, axes.Select(k => shape[k]).ToArray());
                Assert.That(y.ToArray(), Is.EqualTo(ReferencePermute(x, axes)), $"transpose {a}, {b}");
            }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void ConcatAndSplitMatchReferenceOnEveryAxis(int[] shape)
    {
        int rank = shape.Length;
        for (int axis = -rank; axis < rank; axis++)
        {
            int a = Normalise(axis, rank);
            // Three inputs of different sizes along the axis (one of them empty).
            Tensor[] xs = [Values(WithDim(shape, a, 2), 1), Values(WithDim(shape, a, 0), 2), Values(WithDim(shape, a, shape[a]), 3)];
            Tensor y = Ops.Concat(xs, axis);
            AssertShape(y, WithDim(shape, a, 2 + shape[a]));
            Assert.That(y.ToArray(), Is.EqualTo(ReferenceConcat(xs, a)), $"concat on axis {axis}");

            Tensor[] pieces = Ops.Split(y, [2, 0, shape[a]], axis);
            for (int t = 0; t < 3; t++)
            {
                AssertShape(pieces[t], xs[t].Shape.ToArray());
                Assert.That(pieces[t].ToArray(), Is.EqualTo(xs[t].ToArray()), $"split piece {t} on axis {axis}");
            }
        }
    }

    [Test]
    public void SplitIntoEqualPartsThenConcatIsTheIdentity()
    {
        Tensor x = Values([2, 6, 3, 4], 8);
        foreach ((int parts, int axis) in new[] { (2, 0), (3, 1), (6, 1), (1, 2), (4, -1) })
        {
            Tensor[] pieces = Ops.Split(x, parts, axis);
            Assert.That(pieces, Has.Length.EqualTo(parts));
            Assert.That(Ops.Concat(pieces, axis).ToArray(), Is.EqualTo(x.ToArray()), $"{parts} parts on axis {axis}");
        }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void SliceMatchesReferenceOnEveryAxis(int[] shape)
    {
        Tensor x = Values(shape, 9);
        int rank = shape.Length;
        var random = new Random(shape.Sum());
        for (int axis = -rank; axis < rank; axis++)
        {
            int a = Normalise(axis, rank);
            int length = random.Next(0, shape[a] + 1), start = random.Next(0, shape[a] - length + 1);
            int[] starts = new int[rank];
            starts[a] = start;
            Tensor y = Ops.Slice(x, axis, start, length);
            AssertShape(y, WithDim(shape, a, length));
            Assert.That(y.ToArray(), Is.EqualTo(ReferenceSlice(x, starts, WithDim(shape, a, length))), $"axis {axis} [{start}, +{length})");
        }
        for (int trial = 0; trial < 5; trial++)
        {
            int[] lengths = shape.Select(d => random.Next(0, d + 1)).ToArray();
            int[] starts = shape.Select((d, k) => random.Next(0, d - lengths[k] + 1)).ToArray();
            Tensor y = Ops.Slice(x, starts, lengths);
            AssertShape(y, lengths);
            Assert.That(y.ToArray(), Is.EqualTo(ReferenceSlice(x, starts, lengths)));
        }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void PadMatchesReferenceAndSliceUndoesIt(int[] shape)
    {
        Tensor x = Values(shape, 10);
        var random = new Random(shape.Length);
        for (int trial = 0; trial < 4; trial++)
        {
            (int Before, int After)[] padding = shape.Select(_ => (random.Next(0, 3), random.Next(0, 3))).ToArray();
            Tensor y = Ops.Pad(x, padding, value: -7f);
            AssertShape(y, shape.Select((d, k) => padding[k].Before + d + padding[k].After).ToArray());
            Assert.That(y.ToArray(), Is.EqualTo(ReferencePad(x, padding, -7f)));
            Tensor back = Ops.Slice(y, padding.Select(p => p.Before).ToArray(), shape);
            Assert.That(back.ToArray(), Is.EqualTo(x.ToArray()), "Pad then Slice must give x back");
        }
    }

    [TestCaseSource(nameof(ShapeCases))]
    public void IndexSelectMatchesReferenceOnEveryAxis(int[] shape)
    {
        Tensor x = Values(shape, 11);
        int rank = shape.Length;
        for (int axis = -rank; axis < rank; axis++)
        {
            int a = Normalise(axis, rank);
            int[] indices = shape[a] == 0 ? [] : [shape[a] - 1, 0, shape[a] / 2, 0, shape[a] - 1];
            float[] expected = ReferenceIndexSelect(x, a, indices);
            Tensor fromArray = Ops.IndexSelect(x, axis, indices);
            AssertShape(fromArray, WithDim(shape, a, indices.Length));
            Assert.That(fromArray.ToArray(), Is.EqualTo(expected));
            Assert.That(Ops.Gather(x, axis, (ReadOnlySpan<int>)indices).ToArray(), Is.EqualTo(expected));
            Tensor indexTensor = Tensor.FromArray(indices.Select(i => (float)i).ToArray(), indices.Length);
            Assert.That(Ops.IndexSelect(x, axis, indexTensor).ToArray(), Is.EqualTo(expected));
        }
    }

    [Test]
    public void PermuteThenItsInverseIsTheIdentity()
    {
        Tensor x = Values([2, 3, 4, 5, 6], 12);
        int[] axes = [3, 0, 4, 2, 1];
        int[] inverse = new int[5];
        for (int k = 0; k < 5; k++)
            inverse[axes[k]] = k;
        Assert.That(Ops.Permute(Ops.Permute(x, axes), inverse).ToArray(), Is.EqualTo(x.ToArray()));
        Assert.That(Ops.Transpose(Ops.Transpose(x, 1, -1), 1, -1).ToArray(), Is.EqualTo(x.ToArray()));
    }

    [Test]
    public void SqueezeAndUnsqueezeAreViews()
    {
        Tensor x = Values([2, 1, 3, 1], 13);
        AssertShape(Ops.Squeeze(x, 1), 2, 3, 1);
        AssertShape(Ops.Squeeze(x, -1), 2, 1, 3);
        AssertShape(Ops.Squeeze(x), 2, 3);
        AssertShape(Ops.Squeeze(Tensor.Zeros(1, 1)));
        AssertShape(Ops.Unsqueeze(x, 0), 1, 2, 1, 3, 1);
        AssertShape(Ops.Unsqueeze(x, 4), 2, 1, 3, 1, 1);
        AssertShape(Ops.Unsqueeze(x, -1), 2, 1, 3, 1, 1);
        AssertShape(Ops.Unsqueeze(x, -5), 1, 2, 1, 3, 1);
        AssertShape(Ops.Unsqueeze(x, 2), 2, 1, 1, 3, 1);
        AssertShape(Ops.Unsqueeze(Tensor.Scalar(3f), 0), 1);

        Tensor view = Ops.Unsqueeze(Ops.Squeeze(x), 0);
        view[4] = 42f;
        Assert.That(x[4], Is.EqualTo(42f), "views share storage");
    }

    // ---- gradients -------------------------------------------------------------------------

    [TestCase(new[] { 3, 4 }, 0, 1)]
    [TestCase(new[] { 2, 3, 4 }, -1, -2)]
    [TestCase(new[] { 2, 3, 1, 4 }, 0, 3)]
    public void TransposeGradient(int[] shape, int a, int b) =>
        GradientCheck.Check(x => Ops.Transpose(x[0], a, b), [GradientCheck.Random(shape, 20)]);

    [Test]
    public void PermuteGradient()
    {
        GradientCheck.Check(x => Ops.Permute(x[0], 0, 2, 1, 3), [GradientCheck.Random([2, 3, 2, 4], 21)]);
        GradientCheck.Check(x => Ops.Permute(x[0], 2, 0, 1), [GradientCheck.Random([9, 10, 11], 22)]);
    }

    [Test]
    public void ConcatGradient() =>
        GradientCheck.Check(x => Ops.Concat([x[0], x[1], x[2]], 1),
            [GradientCheck.Random([2, 3, 2], 23), GradientCheck.Random([2, 1, 2], 24), GradientCheck.Random([2, 4, 2], 25)]);

    [Test]
    public void ConcatOfATensorWithItselfGetsBothGradients() =>
        GradientCheck.Check(x => Ops.Concat([x[0], x[0]], -1), [GradientCheck.Random([3, 2], 26)]);

    /// <summary>Pieces used out of order and one not used at all (its region of dX stays zero).</summary>
    [Test]
    public void SplitGradient() =>
        GradientCheck.Check(x =>
        {
            Tensor[] p = Ops.Split(x[0], [1, 2, 3], 1);
            return Ops.Concat([p[2], p[0]], 1);
        }, [GradientCheck.Random([2, 6, 3], 27)]);

    [Test]
    public void SliceGradient()
    {
        GradientCheck.Check(x => Ops.Slice(x[0], -1, 1, 3), [GradientCheck.Random([3, 5], 28)]);
        GradientCheck.Check(x => Ops.Slice(x[0], [1, 0, 2], [2, 3, 1]), [GradientCheck.Random([4, 3, 4], 29)]);
    }

    [Test]
    public void PadGradient() =>
        GradientCheck.Check(x => Ops.Pad(x[0], [(1, 0), (2, 1), (0, 0)], 0.5f), [GradientCheck.Random([2, 3, 2], 30)]);

    [Test]
    public void IndexSelectGradientWithRepeatedIndices()
    {
        GradientCheck.Check(x => Ops.IndexSelect(x[0], 1, [2, 0, 2, 2, 3]), [GradientCheck.Random([2, 4, 3], 31)]);
        GradientCheck.Check(x => Ops.Gather(x[0], 0, Tensor.FromArray([1, 1, 0], 3)), [GradientCheck.Random([3, 2], 32)]);
    }

    [Test]
    public void SqueezeAndUnsqueezeGradient() =>
        GradientCheck.Check(x => Ops.Multiply(Ops.Unsqueeze(Ops.Squeeze(x[0], 1), 0), Ops.Unsqueeze(Ops.Squeeze(x[1]), -3)),
            [GradientCheck.Random([2, 1, 3], 33), GradientCheck.Random([1, 1, 2, 3], 34)]);

    [Test]
    public void GradientAccumulatesAcrossTwoUses()
    {
        Tensor x = Values([2, 3], 35).AsParameter("x");
        Tensor loss = Ops.Sum(Ops.Add(Ops.Transpose(Ops.Transpose(x, 0, 1), 0, 1), Ops.Slice(Ops.Pad(x, [(1, 1), (0, 0)]), 0, 1, 2)));
        loss.Backward();
        Assert.That(x.Grad!.ToArray(), Is.All.EqualTo(2f));
    }

    // ---- errors ----------------------------------------------------------------------------

    private static string ErrorOf(TestDelegate call) => Assert.Throws(Is.InstanceOf<ArgumentException>(), call)!.Message;

    [Test]
    public void BadAxesNameTheAxisAndTheShape()
    {
        Tensor x = Tensor.Zeros(2, 3);
        Assert.That(ErrorOf(() => Ops.Transpose(x, 0, 2)), Does.Contain("Transpose").And.Contain("axis 2").And.Contain("(2, 3)"));
        Assert.That(ErrorOf(() => Ops.Permute(x, 0)), Does.Contain("Permute").And.Contain("(2, 3)"));
        Assert.That(ErrorOf(() => Ops.Permute(x, 1, -1)), Does.Contain("axis 1 twice"));
        Assert.That(ErrorOf(() => Ops.Concat([x, x], -3)), Does.Contain("Concat").And.Contain("axis -3"));
        Assert.That(ErrorOf(() => Ops.Split(x, 2, 5)), Does.Contain("Split").And.Contain("axis 5"));
        Assert.That(ErrorOf(() => Ops.IndexSelect(x, 2, [0])), Does.Contain("IndexSelect").And.Contain("axis 2"));
        Assert.That(ErrorOf(() => Ops.Squeeze(x, 0)), Does.Contain("Squeeze").And.Contain("size 2").And.Contain("(2, 3)"));
        Assert.That(ErrorOf(() => Ops.Unsqueeze(x, 3)), Does.Contain("Unsqueeze").And.Contain("axis 3"));
        Assert.That(ErrorOf(() => Ops.Unsqueeze(x, -4)), Does.Contain("-4"));
        Assert.That(ErrorOf(() => Ops.Squeeze(Tensor.Scalar(1f), 0)), Does.Contain("scalar"));
    }

    [Test]
    public void ConcatMismatchNamesTheTensorAndBothShapes()
    {
        string message = ErrorOf(() => Ops.Concat([Tensor.Zeros(2, 3, 4), Tensor.Zeros(2, 5, 4), Tensor.Zeros(2, 1, 5)], 1));
        Assert.That(message, Does.Contain("tensor 2").And.Contain("(2, 1, 5)").And.Contain("(2, 3, 4)"));
        Assert.That(ErrorOf(() => Ops.Concat([Tensor.Zeros(2, 3), Tensor.Zeros(2, 3, 1)], 0)), Does.Contain("tensor 1"));
        Assert.That(ErrorOf(() => Ops.Concat([], 0)), Does.Contain("at least one"));
    }

    [Test]
    public void SplitSizesThatDoNotAddUpAreNamed()
    {
        Tensor x = Tensor.Zeros(4, 6);
        Assert.That(ErrorOf(() => Ops.Split(x, [2, 3], 1)), Does.Contain("add up to 5").And.Contain("(4, 6)"));
        Assert.That(ErrorOf(() => Ops.Split(x, [7, -1], 1)), Does.Contain("negative"));
        Assert.That(ErrorOf(() => Ops.Split(x, 4, 1)), Does.Contain("4 equal parts").And.Contain("(4, 6)"));
    }

    [Test]
    public void SliceOutOfBoundsNamesAxisBoundsAndShape()
    {
        Tensor x = Tensor.Zeros(2, 5);
        Assert.That(ErrorOf(() => Ops.Slice(x, 1, 3, 4)), Does.Contain("axis 1").And.Contain("[3, 7)").And.Contain("(2, 5)"));
        Assert.That(ErrorOf(() => Ops.Slice(x, -1, -1, 2)), Does.Contain("axis 1").And.Contain("start -1"));
        Assert.That(ErrorOf(() => Ops.Slice(x, 0, 0, -1)), Does.Contain("axis 0").And.Contain("length -1"));
        Assert.That(ErrorOf(() => Ops.Slice(x, [0], [1])), Does.Contain("one entry per axis"));
    }

    [Test]
    public void BadPaddingIsNamed()
    {
        Tensor x = Tensor.Zeros(2, 5);
        Assert.That(ErrorOf(() => Ops.Pad(x, [(0, 1)])), Does.Contain("one (before, after) pair per axis").And.Contain("(2, 5)"));
        Assert.That(ErrorOf(() => Ops.Pad(x, [(0, 1), (-1, 0)])), Does.Contain("axis 1").And.Contain("negative"));
    }

    [Test]
    public void BadIndicesNameTheIndexAndItsPosition()
    {
        Tensor x = Tensor.Zeros(2, 5, 3);
        Assert.That(ErrorOf(() => Ops.IndexSelect(x, 1, [0, 4, 5])), Does.Contain("index 5 at position 2").And.Contain("(2, 5, 3)").And.Contain("0..4"));
        Assert.That(ErrorOf(() => Ops.IndexSelect(x, -2, [-1])), Does.Contain("index -1 at position 0"));
        Assert.That(ErrorOf(() => Ops.IndexSelect(x, 1, Tensor.FromArray([1f, 2.5f], 2))), Does.Contain("2.5").And.Contain("position 1").And.Contain("not an integer"));
        Assert.That(ErrorOf(() => Ops.IndexSelect(x, 1, Tensor.FromArray([1f, 9f], 2))), Does.Contain("index 9 at position 1"));
        Assert.That(ErrorOf(() => Ops.IndexSelect(x, 1, Tensor.Zeros(1, 2))), Does.Contain("rank-1"));
    }

    private static int[] WithDim(int[] shape, int axis, int size)
    {
        int[] result = (int[])shape.Clone();
        result[axis] = size;
        return result;
    }
}
