using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Emit;
using Cct.Gpu.Gemm;
using Cct.Gpu.Layers;
using ILGPU.Runtime;

namespace Cct.Gpu.Runtime;

/// <summary>
/// Every kernel Cct.Gpu loads, found in its IL rather than listed by hand, so a new kernel cannot be missed:
/// a kernel is a static method of this assembly with a kernel's signature (an ILGPU index or array view
/// among its parameters, or any static method of a <see cref="TensorCoreKernelsAttribute"/> class, whose kernels take
/// device addresses as <c>long</c> for their inline PTX) whose address is taken (<c>ldftn</c>) to make the delegate ILGPU loads. A generic
/// kernel appears closed over the operands it is launched with, because its <c>ldftn</c> token names that
/// instantiation. The PTX/OpenCL compile test and tools/ptx-report.sh work from this list.
/// </summary>
internal static class KernelCatalog
{
    private static readonly Dictionary<short, OpCode> OpCodes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The kernels, ordered by name, each once.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Cct.Gpu is a trimmer root (Directory.Build.props): its method bodies stay whole.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Cct.Gpu is a trimmer root (Directory.Build.props): its methods stay whole.")]
    [UnconditionalSuppressMessage("Trimming", "IL2065", Justification = "Cct.Gpu is a trimmer root (Directory.Build.props): its methods stay whole.")]
    public static IReadOnlyList<MethodInfo> All()
    {
        var assembly = typeof(KernelCatalog).Assembly;
        var found = new Dictionary<string, MethodInfo>();
        foreach (var type in assembly.GetTypes())
        {
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                foreach (var kernel in LoadedKernels(method))
                {
                    found.TryAdd(NameOf(kernel), kernel);
                }
            }
        }

        return found.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToList();
    }

    /// <summary>A readable, unique name: <c>MatMul.BlockedKernel&lt;DenseA,DenseB&gt;</c>.</summary>
    public static string NameOf(MethodInfo kernel)
    {
        var name = $"{kernel.DeclaringType!.Name}.{kernel.Name}";
        return kernel.IsGenericMethod
            ? $"{name}<{string.Join(",", kernel.GetGenericArguments().Select(t => t.Name))}>"
            : name;
    }

    /// <summary>Whether ILGPU compiles <paramref name="kernel"/> as implicitly grouped (its first parameter is an index).</summary>
    public static bool IsImplicitlyGrouped(MethodInfo kernel)
    {
        var parameters = kernel.GetParameters();
        return parameters.Length > 0 && parameters[0].ParameterType.Namespace == "ILGPU" && parameters[0].ParameterType.Name.Contains("Index", StringComparison.Ordinal);
    }

    // The targets of `ldftn` in this method's body that have a kernel's signature.
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Cct.Gpu is a trimmer root (Directory.Build.props): its method bodies and tokens stay as compiled.")]
    private static List<MethodInfo> LoadedKernels(MethodBase method)
    {
        var kernels = new List<MethodInfo>();
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return kernels;
        }

        var module = method.Module;
        var typeArguments = method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var position = 0;
        while (position < il.Length)
        {
            var value = (short)il[position++];
            if (value == 0xFE)
            {
                value = (short)(0xFE00 | il[position++]);
            }

            var opCode = OpCodes[value];
            var operandStart = position;
            position += OperandSize(opCode.OperandType, il, position);
            if (opCode.OperandType != OperandType.InlineMethod)
            {
                continue;
            }

            var token = BitConverter.ToInt32(il, operandStart);
            MethodBase? target;
            try
            {
                target = module.ResolveMethod(token, typeArguments, methodArguments);
            }
            catch (ArgumentException)
            {
                continue;
            }

            if (opCode == System.Reflection.Emit.OpCodes.Ldftn && target is MethodInfo { IsStatic: true, ContainsGenericParameters: false } kernel && kernel.Module == module
                && (HasKernelSignature(kernel) || kernel.DeclaringType?.IsDefined(typeof(TensorCoreKernelsAttribute), inherit: false) == true))
            {
                kernels.Add(kernel);
            }
        }

        return kernels;
    }

    /// <summary>
    /// Whether <paramref name="kernel"/> is a tensor-core kernel, written in inline PTX: its class (or the class it is
    /// nested in) is marked <see cref="TensorCoreKernelsAttribute"/>. Such a kernel compiles for CUDA only, and the PTX
    /// report holds its SASS to HMMA with no local memory.
    /// </summary>
    public static bool IsTensorCore(MethodInfo kernel) => IsMarked<TensorCoreKernelsAttribute>(kernel);

    /// <summary>
    /// Whether <paramref name="kernel"/> belongs to the OpenCL-CPU kernel set: its class (or the class it is nested in) is
    /// marked <see cref="RegisterTileKernelsAttribute"/>. CUDA never launches it, so the PTX report does not fail on its spills.
    /// </summary>
    public static bool IsRegisterTile(MethodInfo kernel) => IsMarked<RegisterTileKernelsAttribute>(kernel);

    private static bool IsMarked<TAttribute>(MethodInfo kernel)
        where TAttribute : Attribute
    {
        for (var type = kernel.DeclaringType; type is not null; type = type.DeclaringType)
        {
            if (type.IsDefined(typeof(TAttribute), inherit: false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The specialisation a kernel is loaded with on CUDA: MatMul's blocked GEMMs (generic over a tile) cap their
    /// registers (<see cref="MatMul.CudaSpecialization"/>), TensorCoreGemm.s kernels have their own
    /// (<see cref="TensorCoreGemm.SpecializationOf"/>), and so do FlashAttention's and TensorCoreFlashAttention's (<see cref="FlashAttention.Specialization"/>, <see cref="TensorCoreFlashAttention.SpecializationOf"/>);
    /// every other kernel is loaded without one.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "The tiles are Cct.Gpu's own structs, and Cct.Gpu is a trimmer root (Directory.Build.props).")]
    public static KernelSpecialization SpecializationOf(MethodInfo kernel)
        => kernel.DeclaringType == typeof(TensorCoreGemm)
            ? TensorCoreGemm.SpecializationOf(kernel)
            : kernel.DeclaringType == typeof(FlashAttention)
            ? FlashAttention.Specialization
            : kernel.DeclaringType == typeof(TensorCoreFlashAttention)
            ? TensorCoreFlashAttention.SpecializationOf(kernel)
            : kernel.IsGenericMethod && kernel.GetGenericArguments().FirstOrDefault(typeof(IGemmTile).IsAssignableFrom) is { } tile
                ? MatMul.CudaSpecialization((IGemmTile)Activator.CreateInstance(tile)!)
                : KernelSpecialization.Empty;

    // A kernel takes an index or an array view, directly or as a field of a struct argument (MatMul's grouped launch).
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The argument structs are Cct.Gpu's own, and Cct.Gpu is a trimmer root (Directory.Build.props).")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The argument structs are Cct.Gpu's own, and Cct.Gpu is a trimmer root (Directory.Build.props).")]
    private static bool HasKernelSignature(MethodInfo method)
        => method.GetParameters().Any(p => IsKernelArgument(p.ParameterType)
            || (p.ParameterType.IsValueType && p.ParameterType.Assembly == method.Module.Assembly
                && p.ParameterType.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).Any(f => IsKernelArgument(f.FieldType))));

    private static bool IsKernelArgument(Type type)
        => type.Namespace is "ILGPU" or "ILGPU.Runtime"
            && (type.Name.StartsWith("ArrayView", StringComparison.Ordinal) || type.Name.StartsWith("Index", StringComparison.Ordinal));

    private static int OperandSize(OperandType type, byte[] il, int position) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, position)),
        _ => 4,
    };
}
