using Cct.Tests.Support;

namespace Cct.Tests;

/// <summary>Covers every fixture under Cct.Tests: disposes the shared devices once all tests ran.</summary>
[SetUpFixture]
public sealed class AssemblySetup
{
    [OneTimeTearDown]
    public void TearDown() => TestDevices.DisposeAll();
}
