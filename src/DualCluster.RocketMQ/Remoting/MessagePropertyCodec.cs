using System.Text;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>The property string of §3.4: <c>name␁value</c> entries separated by <c>␂</c>.</summary>
internal static class MessagePropertyCodec
{
    public const char NameValueSeparator = '\u0001';
    public const char PropertySeparator = '\u0002';

    public static string Encode(IEnumerable<KeyValuePair<string, string>> properties)
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in properties)
        {
            if (value is null)
            {
                continue;
            }

            if (builder.Length > 0)
            {
                builder.Append(PropertySeparator);
            }

            builder.Append(name).Append(NameValueSeparator).Append(value);
        }

        return builder.ToString();
    }

    public static Dictionary<string, string> Decode(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(text))
        {
            return result;
        }

        foreach (var segment in text.Split(PropertySeparator))
        {
            // Kept only with ≥ 3 chars, a separator after position 0 and a non-empty value (§3.4).
            var split = segment.IndexOf(NameValueSeparator, StringComparison.Ordinal);
            if (segment.Length >= 3 && split > 0 && split < segment.Length - 1)
            {
                result[segment[..split]] = segment[(split + 1)..];
            }
        }

        return result;
    }
}
