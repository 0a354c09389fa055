using NanoNet.Kernels;
using System.Runtime.CompilerServices;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// What an optimizer does to a raw gradient element before its update rule sees it: global-norm
/// scaling, clipping by value, then L2 and L1 regularization. Applied inside the fused update loop, so
/// it costs no extra pass over memory.
/// </summary>
/// <remarks>
/// In order, for gradient g and weight θ:
/// <code>
/// g ← Scale · g                       (global-norm clipping; 1 when off)
/// g ← clamp(g, −ClipValue, ClipValue) (clipping by value; +∞ when off)
/// g ← g + L2 · θ                      (gradient of ½·L2·‖θ‖², PyTorch's weight_decay)
/// g ← g + L1 · sign(θ)                (gradient of L1·‖θ‖₁, with sign(0) = 0)
/// </code>
/// Clipping acts on the loss gradient only and regularization is added after it, as when
/// <c>clip_grad_norm_</c> is followed by an optimizer with <c>weight_decay</c> in PyTorch. The default
/// value of this struct is the identity (<see cref="None"/>).
/// </remarks>
public readonly struct GradientTransform
{
    [Flags]
    private enum Parts : byte { None = 0, Scale = 1, Clip = 2, L2 = 4, L1 = 8 }

    private readonly float _scale, _clipValue, _l1, _l2;
    private readonly Parts _parts;

    /// <summary>Creates a transform; pass 1, +∞, 0, 0 to switch the respective part off.</summary>
    /// <param name="scale">Multiplier from global-norm clipping, in (0, 1].</param>
    /// <param name="clipValue">Elements are clamped to [−clipValue, clipValue]; positive, +∞ for none.</param>
    /// <param name="l1">L1 coefficient (non-negative).</param>
    /// <param name="l2">L2 coefficient (non-negative).</param>
    public GradientTransform(float scale, float clipValue, float l1, float l2)
    {
        if (!(scale > 0f) || scale > 1f)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be in (0, 1].");
        if (!(clipValue > 0f))
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "The clip value must be positive (+∞ for no clipping).");
        CheckCoefficient(l1, nameof(l1));
        CheckCoefficient(l2, nameof(l2));
        _scale = scale;
        _clipValue = clipValue;
        _l1 = l1;
        _l2 = l2;
        _parts = (scale != 1f ? Parts.Scale : 0)
               | (!float.IsPositiveInfinity(clipValue) ? Parts.Clip : 0)
               | (l2 != 0f ? Parts.L2 : 0)
               | (l1 != 0f ? Parts.L1 : 0);
    }

    /// <summary>The identity transform.</summary>
    public static GradientTransform None => default;

    /// <summary>Global-norm clipping multiplier (1 when off).</summary>
    public float Scale => (_parts & Parts.Scale) != 0 ? _scale : 1f;

    /// <summary>Clipping bound (+∞ when off).</summary>
    public float ClipValue => (_parts & Parts.Clip) != 0 ? _clipValue : float.PositiveInfinity;

    /// <summary>L1 coefficient.</summary>
    public float L1 => _l1;

    /// <summary>L2 coefficient.</summary>
    public float L2 => _l2;

    /// <summary>Whether this transform leaves every gradient unchanged.</summary>
    public bool IsIdentity => _parts == Parts.None;

    /// <summary>The transformed gradient of one element with weight <paramref name="weight"/>.</summary>
    public float Apply(float gradient, float weight) => Apply(new Lanes1(gradient), new Lanes1(weight)).Value;

    /// <summary>The transformed gradient, lane-wise (same arithmetic as the scalar overload).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal T Apply<T>(T gradient, T weight) where T : struct, ILanes<T>
    {
        Parts parts = _parts;
        if (parts == Parts.None)
            return gradient;
        if ((parts & Parts.Scale) != 0)
            gradient *= T.Create(_scale);
        if ((parts & Parts.Clip) != 0)
            gradient = T.Min(T.Max(gradient, T.Create(-_clipValue)), T.Create(_clipValue));
        if ((parts & Parts.L2) != 0)
            gradient += T.Create(_l2) * weight;
        if ((parts & Parts.L1) != 0)
            gradient += T.Create(_l1) * T.Sign(weight);
        return gradient;
    }

    private static void CheckCoefficient(float value, string name)
    {
        if (!(value >= 0f) || float.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, "A regularization coefficient must be a non-negative finite number.");
    }
}
