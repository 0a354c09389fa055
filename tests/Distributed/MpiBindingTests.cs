using NanoNet.Distributed.Native;

namespace NanoNet.Tests.Distributed;

/// <summary>The binding's loader and handle table, in the test process (libmpi is opened, MPI is not initialised).</summary>
public class MpiBindingTests
{
    [Test]
    public void AMissingLibraryIsAnErrorNamingThePackageAndEveryFileTried()
    {
        var error = Assert.Throws<DllNotFoundException>(() => MpiLibrary.Open(["libmpi-not-here.so.99", "/nonexistent/libmpi.so"], out _))!;
        Assert.That(error.Message, Does.Contain("apt-get install openmpi-bin"));
        Assert.That(error.Message, Does.Contain("libmpi-not-here.so.99 (").And.Contain("/nonexistent/libmpi.so ("));
    }

    [Test]
    public void OpenMpiHandlesAreTheAddressesOfItsExportedGlobals()
    {
        MpiRun.RequireMpirun();
        MpiAbi abi = MpiAbi.Detect();
        Assert.That(abi.Family, Is.EqualTo("Open MPI"), "Debian's MPI");
        nint[] handles = [abi.CommWorld, abi.Float, abi.Double, abi.Sum];
        Assert.That(handles, Has.None.EqualTo((nint)0));
        Assert.That(handles, Is.Unique);
        Assert.That(abi.CommWorld, Is.EqualTo(MpiLibrary.Export("ompi_mpi_comm_world")));
        Assert.That(abi.InPlace, Is.EqualTo((nint)1), "Open MPI's MPI_IN_PLACE");
        Assert.That(MpiAbi.Mpich.CommWorld, Is.EqualTo((nint)0x44000000), "MPICH's MPI_COMM_WORLD");
    }
}
