using System.Globalization;

namespace Cct.CommandLine;

/// <summary>
/// A command's options: "--name value", "--name=value" and bare "--flag", checked against the names
/// the command declares, so a typo is an error rather than silently ignored. A bad argument is a
/// <see cref="UsageException"/> naming it. One source file compiled into both `cct` (Cct.Cli) and Cct.Bench.
/// </summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, List<string>> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> flags = new(StringComparer.Ordinal);

    private ParsedArguments()
    {
    }

    public IReadOnlyList<string> Positionals { get; private set; } = [];

    public bool WantsHelp => flags.Contains("help");

    public static ParsedArguments Parse(IReadOnlyList<string> args, IReadOnlySet<string> valueOptions, IReadOnlySet<string> flagOptions)
    {
        var parsed = new ParsedArguments();
        var positionals = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                parsed.flags.Add("help");
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                positionals.Add(arg);
                continue;
            }

            var name = arg[2..];
            string? inline = null;
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                inline = name[(equals + 1)..];
                name = name[..equals];
            }

            if (flagOptions.Contains(name))
            {
                if (inline is not null)
                {
                    throw new UsageException($"--{name} takes no value");
                }

                parsed.flags.Add(name);
            }
            else if (valueOptions.Contains(name))
            {
                var value = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"--{name} needs a value"));
                if (!parsed.values.TryGetValue(name, out var given))
                {
                    parsed.values[name] = given = [];
                }

                given.Add(value);
            }
            else
            {
                throw new UsageException($"unknown option --{name} (see --help)");
            }
        }

        parsed.Positionals = positionals;
        return parsed;
    }

    public bool Has(string name) => values.ContainsKey(name) || flags.Contains(name);

    public bool Flag(string name) => flags.Contains(name);

    /// <summary>The option's value, the last one when it is given more than once; null when it is absent.</summary>
    public string? String(string name) => values.TryGetValue(name, out var v) ? v[^1] : null;

    /// <summary>Every value of an option that may be repeated, in order; empty when it is absent.</summary>
    public IReadOnlyList<string> Strings(string name) => values.TryGetValue(name, out var v) ? v : [];

    public string String(string name, string fallback) => String(name) ?? fallback;

    public int Int(string name, int fallback, int min = int.MinValue)
    {
        if (String(name) is not { } text)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min)
        {
            throw new UsageException($"--{name} expects an integer{(min > int.MinValue ? $" >= {min}" : string.Empty)}, got '{text}'");
        }

        return value;
    }

    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (String(name) is not { } text)
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value) || value < min || value > max)
        {
            throw new UsageException($"--{name} expects a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], got '{text}'");
        }

        return value;
    }

    public T Choice<T>(string name, T fallback, IReadOnlyDictionary<string, T> choices)
    {
        if (String(name) is not { } text)
        {
            return fallback;
        }

        return choices.TryGetValue(text, out var value)
            ? value
            : throw new UsageException($"--{name} must be one of {string.Join(", ", choices.Keys)}; got '{text}'");
    }
}
