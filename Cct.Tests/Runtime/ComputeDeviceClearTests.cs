using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Runtime;

/// <summary>
/// <see cref="ComputeDevice.Clear"/> on subviews at odd offsets zeroes exactly that range. ILGPU 1.5.3's OpenCL
/// memset applies the element size twice to a subview's offset (docs/opencl.md): on 16 floats SubView(2, 4) zeroed
/// elements 8-11 and SubView(8, 8) threw, so these run on every test device, OpenCL included (CCT_TEST_ACCELERATOR).
/// </summary>
public sealed class ComputeDeviceClearTests
{
    private static IEnumerable<TestCaseData> Ranges()
    {
        yield return new TestCaseData(16, 2, 4);
        yield return new TestCaseData(16, 8, 8);
        yield return new TestCaseData(16, 0, 16);
        yield return new TestCaseData(1001, 333, 1);
        yield return new TestCaseData(1001, 1, 999);
        yield return new TestCaseData(1001, 997, 0);
    }

    [TestCaseSource(nameof(Ranges))]
    public void ClearZeroesExactlyTheSubview(int length, int offset, int count)
    {
        var device = TestDevices.Cpu;
        var values = Enumerable.Range(1, length).Select(i => (float)i).ToArray();
        using var buffer = device.Upload(values);
        device.Clear(buffer.View.SubView(offset, count));
        var expected = values.Select((v, i) => i >= offset && i < offset + count ? 0f : v).ToArray();
        Assert.That(buffer.Read(), Is.EqualTo(expected), $"{device.Kind} clearing [{offset}, {offset + count}) of {length}");
    }
}
