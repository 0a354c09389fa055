namespace NanoNet.Optim;

/// <summary>Argument checks shared by the schedules.</summary>
internal static class ScheduleChecks
{
    /// <summary>Returns <paramref name="rate"/> if it is a non-negative finite number, else throws.</summary>
    public static float CheckRate(float rate, string name)
    {
        if (!(rate >= 0f) || float.IsInfinity(rate))
            throw new ArgumentOutOfRangeException(name, rate, "A learning rate must be a non-negative finite number.");
        return rate;
    }
}
