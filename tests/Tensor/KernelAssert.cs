namespace NanoNet.Tests;

/// <summary>Element-by-element comparison of a fast kernel's output with its naive twin's, within a relative tolerance.</summary>
internal static class KernelAssert
{
    public static void Close(float[] actual, float[] expected, string what, float tolerance = 1e-4f)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance * (1 + MathF.Abs(expected[i]))), $"{what}[{i}]");
    }
}
