using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    // Comparisons give float masks: 1 where the relation holds, 0 where it does not (NaN compares false,
    // except in NotEqual). They are steps, flat almost everywhere, so they have no gradient and are never
    // recorded on the tape: the result's CreatedBy is null. Use them with Multiply or Where.

    /// <summary>Mask (A &gt; B) with NumPy/PyTorch broadcasting: 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor Greater(Tensor a, Tensor b) => Compare<GreaterOperator>("Greater", a, b);

    /// <summary>Mask (A ≥ B) with broadcasting: 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor GreaterEqual(Tensor a, Tensor b) => Compare<GreaterEqualOperator>("GreaterEqual", a, b);

    /// <summary>Mask (A &lt; B) with broadcasting: 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor Less(Tensor a, Tensor b) => Compare<LessOperator>("Less", a, b);

    /// <summary>Mask (A ≤ B) with broadcasting: 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor LessEqual(Tensor a, Tensor b) => Compare<LessEqualOperator>("LessEqual", a, b);

    /// <summary>Mask (A = B) with broadcasting: 1 where equal (−0 equals +0, NaN equals nothing), else 0. Not differentiable, never recorded.</summary>
    public static Tensor Equal(Tensor a, Tensor b) => Compare<EqualOperator>("Equal", a, b);

    /// <summary>Mask (A ≠ B) with broadcasting: 1 where different (NaN differs from everything), else 0. Not differentiable, never recorded.</summary>
    public static Tensor NotEqual(Tensor a, Tensor b) => Compare<NotEqualOperator>("NotEqual", a, b);

    /// <summary>Mask (x &gt; s): 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor Greater(Tensor x, float s) => Compare<GreaterOperator>("Greater", x, s);

    /// <summary>Mask (x ≥ s): 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor GreaterEqual(Tensor x, float s) => Compare<GreaterEqualOperator>("GreaterEqual", x, s);

    /// <summary>Mask (x &lt; s): 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor Less(Tensor x, float s) => Compare<LessOperator>("Less", x, s);

    /// <summary>Mask (x ≤ s): 1 where true, else 0. Not differentiable, never recorded.</summary>
    public static Tensor LessEqual(Tensor x, float s) => Compare<LessEqualOperator>("LessEqual", x, s);

    /// <summary>Mask (x = s): 1 where equal, else 0. Not differentiable, never recorded.</summary>
    public static Tensor Equal(Tensor x, float s) => Compare<EqualOperator>("Equal", x, s);

    /// <summary>Mask (x ≠ s): 1 where different, else 0. Not differentiable, never recorded.</summary>
    public static Tensor NotEqual(Tensor x, float s) => Compare<NotEqualOperator>("NotEqual", x, s);

    private static Tensor Compare<TOp>(string op, Tensor a, Tensor b) where TOp : struct, IBinaryOperator
    {
        long started = Profiler.Start();
        Tensor mask = BroadcastBinary<TOp>(op, a, b);
        Profiler.Stop(op, started, 0);
        return mask;
    }

    private static Tensor Compare<TOp>(string op, Tensor x, float s) where TOp : struct, IBinaryOperator
    {
        long started = Profiler.Start();
        var mask = Tensor.EmptyLike(x);
        TOp.Invoke(x.Span, s, mask.Span);
        Profiler.Stop(op, started, 0);
        return mask;
    }
}
