using Cct.Gpu.Runtime;

namespace Cct.Training;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 1 && args[0] == "devices")
        {
            foreach (var d in ComputeDevice.List())
            {
                Console.WriteLine($"{d.Kind.ToString().ToLowerInvariant(),-7} {d.Name} ({d.MemoryBytes / (1024 * 1024)} MiB)");
            }

            return 0;
        }

        Console.Error.WriteLine("usage: cct devices");
        return 2;
    }
}
