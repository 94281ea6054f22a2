using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Cct.Gpu.Runtime;

namespace Cct.Bench;

internal sealed record KernelReport(string Device, string Kind, string Size, string Time, IReadOnlyList<CaseResult> Cases);
