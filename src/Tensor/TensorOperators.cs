namespace NanoNet;

public sealed partial class Tensor
{
    // C# operators for the element-wise ops: each is exactly the Ops call named in its summary (same
    // broadcasting, same gradient), so a + b * c reads like the math and records like the ops.

    /// <summary>a + b with broadcasting: <see cref="Ops.Add(Tensor, Tensor)"/>.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);

    /// <summary>a − b with broadcasting: <see cref="Ops.Subtract(Tensor, Tensor)"/>.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Subtract(a, b);

    /// <summary>a ⊙ b (element-wise, not a matrix product) with broadcasting: <see cref="Ops.Multiply(Tensor, Tensor)"/>.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Multiply(a, b);

    /// <summary>a / b with broadcasting: <see cref="Ops.Divide(Tensor, Tensor)"/>.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Divide(a, b);

    /// <summary>−x: <see cref="Ops.Negate(Tensor)"/>.</summary>
    public static Tensor operator -(Tensor x) => Ops.Negate(x);

    /// <summary>x + s: <see cref="Ops.Add(Tensor, float)"/>.</summary>
    public static Tensor operator +(Tensor x, float s) => Ops.Add(x, s);

    /// <summary>s + x: <see cref="Ops.Add(Tensor, float)"/> (addition commutes exactly).</summary>
    public static Tensor operator +(float s, Tensor x) => Ops.Add(x, s);

    /// <summary>x − s: <see cref="Ops.Subtract(Tensor, float)"/>.</summary>
    public static Tensor operator -(Tensor x, float s) => Ops.Subtract(x, s);

    /// <summary>s − x: <see cref="Ops.Subtract(float, Tensor)"/>.</summary>
    public static Tensor operator -(float s, Tensor x) => Ops.Subtract(s, x);

    /// <summary>x · s: <see cref="Ops.Multiply(Tensor, float)"/>.</summary>
    public static Tensor operator *(Tensor x, float s) => Ops.Multiply(x, s);

    /// <summary>s · x: <see cref="Ops.Multiply(Tensor, float)"/> (multiplication commutes exactly).</summary>
    public static Tensor operator *(float s, Tensor x) => Ops.Multiply(x, s);

    /// <summary>x / s: <see cref="Ops.Divide(Tensor, float)"/>.</summary>
    public static Tensor operator /(Tensor x, float s) => Ops.Divide(x, s);

    /// <summary>s / x: <see cref="Ops.Divide(float, Tensor)"/>.</summary>
    public static Tensor operator /(float s, Tensor x) => Ops.Divide(s, x);
}
