using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DualCluster.Configuration;

/// <summary>
/// What the binder keeps quiet about in the configuration bound to <see cref="DualClusterOptions"/>: a section that is
/// missing (the node then runs on defaults: NodeId = machine name, everything on Old) and keys no option reads (a
/// misspelled <c>NewWieght</c> is ignored). Binder type errors are turned into an <see cref="OptionsValidationException"/>
/// that names the key and the fix, like every other invalid value.
/// </summary>
internal sealed partial class DualClusterConfigurationCheck(IConfiguration configuration)
{
    private readonly string _prefix = configuration is IConfigurationSection section ? section.Path : "";

    /// <summary>One message per problem, each naming the key and what to do; empty when there is none.</summary>
    public List<string> Warnings()
    {
        var warnings = new List<string>();
        if (!configuration.GetChildren().Any())
        {
            var name = _prefix.Length == 0 ? "the DualCluster configuration" : $"the configuration section '{_prefix}'";
            warnings.Add($"{Capitalize(name)} is missing or empty: this node runs on defaults (NodeId = POD_NAME, HOSTNAME or the machine name; "
                + "producers and consumers on Old). If that is not intended, check the section's name and that its file is loaded "
                + "(Host.CreateApplicationBuilder loads appsettings.json and appsettings.{Environment}.json from the content root).");
            return warnings;
        }

        CheckKeys(configuration, typeof(DualClusterOptions), warnings);
        return warnings;
    }

    private static void CheckKeys(IConfiguration node, Type type, List<string> warnings)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToArray();
        foreach (var child in node.GetChildren())
        {
            var property = Array.Find(properties, p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                var suggestion = Closest(child.Key, properties.Select(p => p.Name));
                warnings.Add($"{child.Path} is not a DualCluster setting and is ignored: "
                    + (suggestion is null ? "" : $"did you mean '{Parent(child.Path)}{suggestion}'? ")
                    + $"Settings here: {string.Join(", ", properties.Select(p => p.Name))}.");
                continue;
            }

            var propertyType = property.PropertyType;
            if (IsScalar(propertyType))
            {
                continue;
            }

            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                // Free-form keys (node ids, transport settings): only the values' own settings can be checked.
                var valueType = propertyType.GetGenericArguments()[1];
                if (!IsScalar(valueType))
                {
                    foreach (var entry in child.GetChildren())
                    {
                        CheckKeys(entry, valueType, warnings);
                    }
                }

                continue;
            }

            if (!typeof(IEnumerable).IsAssignableFrom(propertyType))
            {
                CheckKeys(child, propertyType, warnings);
            }
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTimeOffset) || type == typeof(DateTime) || Nullable.GetUnderlyingType(type) is not null;

    private static string Parent(string path)
    {
        var last = path.LastIndexOf(':');
        return last < 0 ? "" : path[..(last + 1)];
    }

    private static string Capitalize(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>The known name within a small edit distance of <paramref name="key"/>, if any.</summary>
    private static string? Closest(string key, IEnumerable<string> names)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var name in names)
        {
            var distance = Distance(key.ToUpperInvariant(), name.ToUpperInvariant());
            if (distance < bestDistance)
            {
                best = name;
                bestDistance = distance;
            }
        }

        return bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        // Optimal string alignment: a swapped pair of letters ("Wieght") counts as one edit.
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>
    /// Binds <paramref name="options"/>; a value the binder cannot convert becomes an <see cref="OptionsValidationException"/>
    /// naming the key and the expected form (the value itself is not repeated: it may be a secret).
    /// </summary>
    public static void Bind(IConfiguration configuration, DualClusterOptions options, string name)
    {
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new OptionsValidationException(name, typeof(DualClusterOptions), [Describe(ex)]);
        }
    }

    internal static string Describe(InvalidOperationException ex)
    {
        var match = BinderFailure().Match(ex.Message);
        if (!match.Success)
        {
            return $"The DualCluster configuration could not be read: {ex.Message} Fix the value of the key it names.";
        }

        var path = match.Groups["path"].Value;
        var type = match.Groups["type"].Value;
        var expected = type switch
        {
            "System.Int32" or "System.Int64" => "a whole number (for example 30)",
            "System.Boolean" => "true or false",
            "System.Double" or "System.Decimal" => "a number written with a dot (for example 0.5)",
            "System.TimeSpan" => "a time span written [d.]hh:mm:ss[.fff] (for example 00:00:05 for 5 s, 7.00:00:00 for 7 days)",
            _ => $"a value of type {type}",
        };
        return $"{path} cannot be read: use {expected}.";
    }

    [GeneratedRegex("at '(?<path>[^']+)' to type '(?<type>[^']+)'", RegexOptions.CultureInvariant)]
    private static partial Regex BinderFailure();
}
