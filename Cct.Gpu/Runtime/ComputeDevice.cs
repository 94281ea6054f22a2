using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Cct.Gpu.Runtime;

/// <summary>
/// An ILGPU context plus one accelerator. Owns the kernel sets loaded for it, so each kernel is
/// compiled once per device. Disposes the accelerator before the context, as ILGPU requires.
/// </summary>
public sealed class ComputeDevice : IDisposable
{
    private readonly ConcurrentDictionary<Type, object> kernelSets = new();
    private MemoryBuffer1D<float, Stride1D.Dense>? scratch;
    private bool disposed;

    private readonly Accelerator accelerator;
    private readonly AcceleratorStream? nullStream;
    private readonly AcceleratorKind kind;
    private readonly Action<Index1D, int, ArrayView<float>>? clearKernel;

    private ComputeDevice(Context context, Accelerator accelerator, AcceleratorKind kind, DeviceProfile profile)
    {
        Context = context;
        this.accelerator = accelerator;
        this.kind = kind;
        Profile = profile;
        if (profile.ClearsWithKernel)
        {
            clearKernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>>(ClearKernel);
        }

        if (profile.ReplaysGraphs)
        {
            // ILGPU's CUDA default stream is the legacy null stream, which cannot be captured, and every stream kernel, memset
            // and copy goes to Accelerator.DefaultStream, whose setter is protected: it becomes a non-blocking stream.
            nullStream = accelerator.DefaultStream;
            DefaultStreamSetter.Invoke(accelerator, [((CudaAccelerator)accelerator).CreateStream(StreamFlags.CU_STREAM_NON_BLOCKING)]);
        }
    }

    private static MethodInfo DefaultStreamSetter => typeof(Accelerator).GetProperty(nameof(Accelerator.DefaultStream))!.GetSetMethod(nonPublic: true)!;

    internal Context Context { get; }

/// <summary>The ILGPU accelerator, for callers who allocate their own device buffers for the <see cref="Model.CctModel"/> device path.</summary>
    /// <exception cref="ObjectDisposedException">the device is disposed</exception>
    public Accelerator Accelerator
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return accelerator;
        }
    }

    /// <summary>The concrete backend (never <see cref="AcceleratorKind.Auto"/>).</summary>
    /// <exception cref="ObjectDisposedException">the device is disposed</exception>
    public AcceleratorKind Kind
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return kind;
        }
    }

/// <summary>The device name as the driver reports it.</summary>
    public string Name => Accelerator.Name;

    /// <summary>
    /// The kernels and launch parameters chosen for this device when it was made (<see cref="DeviceProfile.For"/>).
    /// Tests force the GPU kernels onto the simulator (<see cref="Create(AcceleratorKind, CPUDevice?, KernelFamily?, bool, GemmPrecision, bool, bool)"/>)
    /// to run a whole model through them.
    /// </summary>
    internal DeviceProfile Profile { get; }

    /// <summary>
    /// The CPU simulator's shape. Measured on 2 cores (docs/cpu-accelerator.md): a warp of 2 threads and
    /// one multiprocessor per two cores launches fastest, since every group ends with a barrier across
    /// its warp's OS threads.
    /// </summary>
    internal static CPUDevice DefaultCpuShape => new(2, 1, Math.Max(1, Environment.ProcessorCount / 2));

    /// <summary>A CPU shape whose groups hold 16x16 threads, so tiled kernels can be tested on the simulator.</summary>
    internal static CPUDevice TiledCpuShape => new(16, 16, 1);

    /// <summary>
    /// The device of <paramref name="kind"/>: with <see cref="AcceleratorKind.Auto"/> the first CUDA GPU, else the first
    /// OpenCL device, else ILGPU's CPU accelerator. Dispose it after every model and trainer on it.
    /// </summary>
    /// <exception cref="AcceleratorUnavailableException">no device of that kind is on this machine (the message lists what is)</exception>
    [SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads", Justification = "Shipped in 0.1.0; the overload with a precision takes every argument explicitly.")]
    public static ComputeDevice Create(AcceleratorKind kind = AcceleratorKind.Auto) => Create(kind, cpuShape: null);

    /// <summary>
    /// As <see cref="Create(AcceleratorKind)"/>, with models on the device computing their Linear products in
    /// <paramref name="precision"/> (<see cref="Precision"/>).
    /// </summary>
    /// <exception cref="AcceleratorUnavailableException">no device of that kind is on this machine (the message lists what is)</exception>
    /// <exception cref="NotSupportedException">a tensor-core precision on a device that is not a CUDA GPU of compute capability 8.0 or later</exception>
    public static ComputeDevice Create(AcceleratorKind kind, GemmPrecision precision) => Create(kind, cpuShape: null, precision: precision);

    /// <summary>
    /// As <see cref="Create(AcceleratorKind, GemmPrecision)"/>; with <paramref name="cudaGraphs"/>, models on the device replay
    /// their training step and inference batch as CUDA graphs, bit-identical to plain launches (<see cref="ReplaysGraphs"/>).
    /// </summary>
    /// <exception cref="AcceleratorUnavailableException">no device of that kind is on this machine (the message lists what is)</exception>
    /// <exception cref="NotSupportedException">a tensor-core precision, or CUDA graphs, on a device that does not offer them</exception>
    public static ComputeDevice Create(AcceleratorKind kind, GemmPrecision precision, bool cudaGraphs) => Create(kind, cpuShape: null, precision: precision, cudaGraphs: cudaGraphs);

    /// <summary>
    /// Whether models on this device replay each training step and inference batch as one CUDA graph, captured once the step
    /// is steady, instead of launching each kernel (off unless the device was made with them).
    /// </summary>
    /// <exception cref="ObjectDisposedException">the device is disposed</exception>
    public bool ReplaysGraphs
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return Profile.ReplaysGraphs;
        }
    }

    /// <summary>How models on this device compute their Linear products: fp32 unless it was made with a tensor-core precision.</summary>
    /// <exception cref="ObjectDisposedException">the device is disposed</exception>
    public GemmPrecision Precision
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return Profile.Precision;
        }
    }

    /// <summary>
    /// As <see cref="Create(AcceleratorKind)"/>, with the CPU simulator's group shape and the layers' kernel choice fixed,
    /// and fused attention off when <paramref name="fuseAttention"/> is false (tests and benchmarks). <paramref name="stepValuesOnDevice"/>
    /// keeps models' step values in device memory without graphs (<see cref="DeviceProfile.StepValuesOnDevice"/>), on any device.
    /// </summary>
    internal static ComputeDevice Create(AcceleratorKind kind, CPUDevice? cpuShape, KernelFamily? kernels = null, bool fuseAttention = true, GemmPrecision precision = GemmPrecision.Fp32, bool cudaGraphs = false, bool stepValuesOnDevice = false)
    {
        if (!Enum.IsDefined(precision))
        {
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "not a GemmPrecision");
        }

        NativeLibraries.Register();
        var context = Context.Create(builder =>
        {
            builder.CPU(cpuShape ?? DefaultCpuShape).EnableAlgorithms().Math(MathMode.Default);
            if (kind is AcceleratorKind.Auto or AcceleratorKind.Cuda)
            {
                TryAdd(() => builder.Cuda());
            }

            if (kind is AcceleratorKind.Auto or AcceleratorKind.OpenCL)
            {
                TryAdd(() => builder.OpenCL());
            }
        });

        try
        {
            var device = Pick(context, kind);
            if (precision != GemmPrecision.Fp32 && !HasTensorCores(device))
            {
                throw new NotSupportedException($"precision {precision.ToString().ToLowerInvariant()} needs a CUDA GPU of compute capability 8.0 or later (tensor cores); {KindOf(device).ToString().ToLowerInvariant()} ({device.Name}) computes in fp32 only");
            }

            if (cudaGraphs && device is not CudaDevice)
            {
                throw new NotSupportedException($"CUDA graphs need a CUDA GPU; {KindOf(device).ToString().ToLowerInvariant()} ({device.Name}) launches kernels one by one");
            }

            var accelerator = device.CreateAccelerator(context);
            var profile = DeviceProfile.For(accelerator, kernels) with
            {
                FusesAttention = fuseAttention,
                Precision = precision,
                ReplaysGraphs = cudaGraphs,
                StepValuesOnDevice = cudaGraphs || stepValuesOnDevice,
            };
            return new ComputeDevice(context, accelerator, KindOf(device), profile);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Every device this machine offers, in the order <see cref="AcceleratorKind.Auto"/> considers them.</summary>
    public static IReadOnlyList<DeviceDescription> List()
    {
        NativeLibraries.Register();
        using var context = Context.Create(builder =>
        {
            builder.CPU(DefaultCpuShape);
            TryAdd(() => builder.Cuda());
            TryAdd(() => builder.OpenCL());
        });
        return Ordered(context.Devices)
            .Select(d => new DeviceDescription(KindOf(d), d.Name, MemoryOf(d), d.MaxNumThreadsPerGroup))
            .ToList();
    }

    /// <summary>
    /// How many threads to launch for <paramref name="work"/> independent items; auto-grouped kernels loop over their
    /// items with this stride (grid-stride loops). The profile sets the cap (<see cref="DeviceProfile.Threads"/>).
    /// </summary>
    internal int Threads(long work) => Profile.Threads(work);

    /// <summary>A row kernel's launch for <paramref name="rows"/> rows (<see cref="DeviceProfile.RowLaunch"/>).</summary>
    internal KernelConfig WarpPerRow(int rows) => Profile.RowLaunch(rows);

    /// <summary>
    /// Returns the kernel set of type <typeparamref name="T"/> for this device, loading it on first use. Every
    /// launcher the set holds (a field of an ILGPU stream-kernel delegate type) is wrapped here to count its
    /// launches in <see cref="Operations"/>, so no layer can launch uncounted, MatMul's included.
    /// </summary>
    internal T Kernels<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.NonPublicFields)] T>(Func<ComputeDevice, T> load)
        where T : class
        => (T)kernelSets.GetOrAdd(typeof(T), _ => CountLaunches(load(this)));

    /// <summary>Kernel launches and memsets issued through this device since it was created.</summary>
    internal DeviceOperations Operations { get; } = new();

    /// <summary>
    /// Zeroes <paramref name="view"/> with one device operation, counted in <see cref="Operations"/> as a memset: the
    /// driver's memset, or on OpenCL a kernel of ours, since ILGPU 1.5.3's OpenCL memset of a subview zeroes the
    /// wrong range or throws (docs/opencl.md).
    /// </summary>
    internal void Clear(ArrayView<float> view)
    {
        if (!Operations.CountMemset() || view.Length == 0)
        {
            return;
        }

        if (clearKernel is null)
        {
            view.MemSetToZero();
        }
        else
        {
            var threads = Threads(view.Length);
            clearKernel(threads, threads, view);
        }
    }

    /// <summary>
    /// Counts the moves of device buffers that kernels are launched with (scratch and partial-sum buffers that grow, a
    /// partial-sum table rewritten): a captured graph still points at the old ones, so <see cref="GraphReplay"/> drops its
    /// graphs when this changes.
    /// </summary>
    internal int MemoryGeneration { get; private set; }

    /// <summary>Records that a buffer kernels are launched with moved or changed content (<see cref="MemoryGeneration"/>).</summary>
    internal void Reallocated() => MemoryGeneration++;

    internal MemoryBuffer1D<float, Stride1D.Dense> Allocate(long length)
        => Accelerator.Allocate1D<float>(Math.Max(1, length));

    internal MemoryBuffer1D<float, Stride1D.Dense> Upload(float[] data)
    {
        var buffer = Allocate(data.Length);
        if (data.Length > 0)
        {
            buffer.View.SubView(0, data.Length).CopyFromCPU(data);
        }

        return buffer;
    }

    internal MemoryBuffer1D<int, Stride1D.Dense> Upload(int[] data)
    {
        var buffer = Accelerator.Allocate1D<int>(Math.Max(1, data.Length));
        if (data.Length > 0)
        {
            buffer.View.SubView(0, data.Length).CopyFromCPU(data);
        }

        return buffer;
    }

    /// <summary>Waits until every launched kernel and copy has finished.</summary>
    /// <exception cref="ObjectDisposedException">the device is disposed</exception>
    public void Synchronize() => Accelerator.Synchronize();

    /// <summary>Device bytes of the <see cref="Scratch"/> buffer.</summary>
    internal long ScratchBytes => scratch?.LengthInBytes ?? 0;

    /// <summary>
    /// A device-wide buffer of at least <paramref name="length"/> floats for partial results that one layer
    /// operation writes and reads back (split-K sums). Kernels run in stream order, so the next operation that
    /// takes it cannot overlap this one. Growing it first waits for the device, since queued kernels may
    /// still use the old buffer; it grows only in a model's first step.
    /// </summary>
    internal ArrayView<float> Scratch(long length)
    {
        if (scratch is null || scratch.Length < length)
        {
            Synchronize();
            scratch?.Dispose();
            scratch = Allocate(length);
            Reallocated();
        }

        return scratch.View.SubView(0, length);
    }

    /// <summary>When set, every layer operation's <see cref="Time"/> scope is timed into it.</summary>
    internal KernelProfiler? Profiler { get; set; }

    /// <summary>Times the enclosed kernel launches as <paramref name="name"/> when <see cref="Profiler"/> is set.</summary>
    internal ProfileScope Time(string name) => new(this, name);

    /// <summary>Free device memory as the CUDA driver reports it; null on other backends.</summary>
    /// <exception cref="ObjectDisposedException">the device is disposed</exception>
    public long? FreeMemoryBytes => Accelerator is CudaAccelerator cuda ? cuda.GetFreeMemory() : null;

/// <summary>Frees every buffer and kernel of this device, then the accelerator and the context; dispose models first.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        accelerator.Synchronize();
        if (nullStream is not null)
        {
            // The non-blocking stream is one of the accelerator's children, which it disposes.
            DefaultStreamSetter.Invoke(accelerator, [nullStream]);
        }

        scratch?.Dispose();
        accelerator.Dispose();
        Context.Dispose();
    }

    // view[i] = 0, grid-stride.
    private static void ClearKernel(Index1D index, int stride, ArrayView<float> view)
    {
        for (var i = (long)index.X; i < view.Length; i += stride)
        {
            view[i] = 0f;
        }
    }

    // Replaces each launcher field of a freshly loaded kernel set with one that counts, then launches.
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The holders are Cct.Gpu's own types, and Cct.Gpu is a trimmer root (Directory.Build.props): their fields stay.")]
    private T CountLaunches<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.NonPublicFields)] T>(T kernelSet)
        where T : class
    {
        foreach (var field in typeof(T).GetFields(BindingFlags.Instance | BindingFlags.NonPublic))
        {
            var value = field.GetValue(kernelSet);
            var name = $"{typeof(T).Name}.{field.Name}";
            if (IsLauncher(field.FieldType) && value is Delegate launch)
            {
                field.SetValue(kernelSet, Counted(launch, field.FieldType, name));
            }
            else if (value is not null && field.FieldType.IsClass && field.FieldType.DeclaringType == typeof(T))
            {
                // A holder the set keeps its launchers in (MatMul's closed blocked kernels): counted under the holder's name.
                foreach (var inner in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.NonPublic))
                {
                    if (IsLauncher(inner.FieldType) && inner.GetValue(value) is Delegate innerLaunch)
                    {
                        inner.SetValue(value, Counted(innerLaunch, inner.FieldType, name));
                    }
                }
            }
        }

        return kernelSet;
    }

    // ILGPU's stream launchers are Actions whose first argument is the launch extent or configuration.
    private static bool IsLauncher(Type type)
        => type.IsGenericType && type.FullName!.StartsWith("System.Action`", StringComparison.Ordinal)
            && type.GetGenericArguments()[0] is var first
            && (first == typeof(KernelConfig) || first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D));

    // (args) => { if (counter.Launch()) launch(args); }, compiled once per launcher at load time.
    private Delegate Counted(Delegate launch, Type action, string name)
    {
        var parameters = action.GetGenericArguments().Select(Expression.Parameter).ToArray();
        var count = Expression.Call(Expression.Constant(Operations.CounterFor(name)), typeof(DeviceOperations.LaunchCounter).GetMethod(nameof(DeviceOperations.LaunchCounter.Launch))!);
        var body = Expression.IfThen(count, Expression.Invoke(Expression.Constant(launch), parameters));
        return Expression.Lambda(action, body, parameters).Compile();
    }

    // ILGPU reports long.MaxValue for the CPU accelerator, whose buffers live in this process's memory.
    private static long MemoryOf(Device device)
        => KindOf(device) == AcceleratorKind.Cpu ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : device.MemorySize;

    private static void TryAdd(Action add)
    {
        try
        {
            add();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or InvalidOperationException or NotSupportedException)
        {
            // The backend's driver is absent or unusable: it just offers no devices.
        }
    }

    private static IEnumerable<Device> Ordered(IEnumerable<Device> devices)
        => devices.OrderBy(d => KindOf(d) switch
        {
            AcceleratorKind.Cuda => 0,
            AcceleratorKind.OpenCL => 1,
            _ => 2,
        });

    private static Device Pick(Context context, AcceleratorKind kind)
    {
        var ordered = Ordered(context.Devices).ToList();
        var match = ordered.FirstOrDefault(d => kind == AcceleratorKind.Auto || KindOf(d) == kind);
        if (match is not null)
        {
            return match;
        }

        var available = string.Join(", ", ordered.Select(d => $"{KindOf(d).ToString().ToLowerInvariant()} ({d.Name})").Distinct());
        throw new AcceleratorUnavailableException(
            $"no {kind.ToString().ToLowerInvariant()} accelerator found; available: {available}");
    }

    // mma.sync with TF32 operands needs sm_80 (Ampere) or later.
    private static bool HasTensorCores(Device device) => device is CudaDevice { Architecture: { } architecture } && architecture.Major >= 8;

    private static AcceleratorKind KindOf(Device device) => device switch
    {
        CudaDevice => AcceleratorKind.Cuda,
        CLDevice => AcceleratorKind.OpenCL,
        _ => AcceleratorKind.Cpu,
    };
}
