using ScottPlot;
using SkiaSharp;

namespace Cct.Training.Reports;

/// <summary>
/// The DejaVu Sans shipped inside the assembly. Headless machines may have no system fonts, and then ScottPlot
/// and Skia draw no text at all, so every report image uses this typeface instead of asking the system.
/// </summary>
internal static class ReportFont
{
    /// <summary>Font name that ScottPlot resolves to the shipped typeface once <see cref="Apply"/> has run.</summary>
    public const string Name = "Cct DejaVu Sans";

    private const string ResourceName = "Cct.Training.DejaVuSans.ttf";
    private static readonly Lazy<SKTypeface> Shipped = new(Load);
    private static readonly Lock RegistrationLock = new();
    private static bool registered;

    /// <summary>The shipped typeface, loaded once from the embedded resource.</summary>
    public static SKTypeface Typeface => Shipped.Value;

    /// <summary>Makes every text element of <paramref name="plot"/> (and text added to it later) use the shipped typeface.</summary>
    public static void Apply(Plot plot)
    {
        Register();
        plot.Font.Set(Name);
        // Detection would swap in a system font per render.
        plot.Legend.SetBestFontOnEachRender = false;
        plot.Legend.FontName = Name;
    }

    private static void Register()
    {
        var typeface = Typeface;
        lock (RegistrationLock)
        {
            if (!registered)
            {
                // First in the list: ScottPlot asks resolvers in order and the system one answers any name.
                Fonts.FontResolvers.Insert(0, new ShippedFontResolver(typeface));
                registered = true;
            }
        }
    }

    private static SKTypeface Load()
    {
        using var stream = typeof(ReportFont).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The font resource {ResourceName} is missing from {typeof(ReportFont).Assembly.GetName().Name}; the build must embed Assets/DejaVuSans.ttf.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        // Skia reads glyphs lazily, so it gets its own copy rather than a stream that is disposed here.
        using var data = SKData.CreateCopy(bytes.ToArray());
        return SKTypeface.FromData(data)
            ?? throw new InvalidOperationException($"The font resource {ResourceName} is not a font Skia can read.");
    }

    /// <summary>Answers only our name, with the one face we ship for every weight and slant.</summary>
    private sealed class ShippedFontResolver(SKTypeface typeface) : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) => Matches(fontName) ? typeface : null;

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) => Matches(fontName) ? typeface : null;

        private static bool Matches(string fontName) => string.Equals(fontName, Name, StringComparison.OrdinalIgnoreCase);
    }
}
