namespace NanoNet.Distributed;

/// <summary>An MPI call returned an error; the message names the function and MPI's description of the error.</summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MpiException(string function, int errorCode, string description)
        : base($"{function} failed with MPI error {errorCode}: {description}")
    {
        Function = function;
        ErrorCode = errorCode;
    }

    /// <summary>The MPI function that failed, e.g. <c>MPI_Allreduce</c>.</summary>
    public string Function { get; }

    /// <summary>The MPI error code it returned.</summary>
    public int ErrorCode { get; }
}
