namespace Cct.Gpu.Model;

/// <summary>A torchinfo-style layer table computed from a config alone (no device needed).</summary>
internal static class ModelSummary
{
    /// <summary>The table's rows, module by module in forward order (<see cref="CctArchitecture"/>).</summary>
    public static IReadOnlyList<SummaryRow> Rows(CctConfig c) => CctArchitecture.Of(c).Modules.SelectMany(m => m.SummaryRows).ToList();

    /// <summary>
    /// Floating-point operations of one image's forward pass, counting 2 per multiply-add of the convs,
    /// linears and the two attention products (QKᵀ and PV); elementwise work is left out. A training step
    /// costs about 3x this (backward computes two products per forward product).
    /// </summary>
    public static double ForwardFlopsPerImage(CctConfig c)
    {
        var flops = 0.0;
        foreach (var conv in CctArchitecture.Of(c).Tokenizer.Select(s => s.Conv))
        {
            flops += 2.0 * conv.OutHeight * conv.OutWidth * conv.OutChannels * conv.InChannels * conv.Kernel * conv.Kernel;
        }

        double t = c.Tokens, d = c.Dim, h = c.MlpHidden;
        var linears = (3 * d * d) + (d * d) + (2 * d * h);
        var attention = 2 * t * t * d; // QKᵀ and PV over all heads
        flops += c.Layers * 2 * ((t * linears) + attention);
        flops += 2 * t * d; // SeqPool's scores, or the mean
        flops += 2 * d * c.Classes;
        return flops;
    }
}
