using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Cct.Gpu.Runtime;
using ILGPU.Runtime.Cuda;

namespace Cct.Bench;

/// <summary>The "ptx" mode's command line.</summary>
internal sealed record PtxOptions(string Ptxas, string Cuobjdump, string OutputDirectory, string? DocPath, bool Check, double MinFfmaShare, double MinFfmaShareEvery);
