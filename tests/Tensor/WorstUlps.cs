using System.Runtime.Intrinsics;

namespace NanoNet.Tests;

/// <summary>The largest distance in ulps between a 16-lane kernel and a correctly rounded reference over many inputs.</summary>
internal static class WorstUlps
{
    /// <summary>The worst ulp distance of <paramref name="kernel"/> from <paramref name="reference"/>, and the input it was at
    /// (<paramref name="inputs"/>' length a multiple of 16).</summary>
    public static (int Ulps, float At) Of(float[] inputs, Func<Vector512<float>, Vector512<float>> kernel, Func<float, float> reference)
    {
        int worst = 0;
        float worstAt = 0f;
        for (int i = 0; i < inputs.Length; i += 16)
        {
            Vector512<float> result = kernel(Vector512.Create(inputs, i));
            for (int lane = 0; lane < 16; lane++)
            {
                float x = inputs[i + lane];
                int ulps = Math.Abs(BitConverter.SingleToInt32Bits(result[lane]) - BitConverter.SingleToInt32Bits(reference(x)));
                if (ulps > worst)
                    (worst, worstAt) = (ulps, x);
            }
        }
        return (worst, worstAt);
    }

    /// <summary>The same over 8-lane vectors (<paramref name="inputs"/>' length a multiple of 8).</summary>
    public static (int Ulps, float At) OfEightLanes(float[] inputs, Func<Vector256<float>, Vector256<float>> kernel, Func<float, float> reference) =>
        Of(inputs, x => Vector512.Create(kernel(x.GetLower()), kernel(x.GetUpper())), reference);
}
