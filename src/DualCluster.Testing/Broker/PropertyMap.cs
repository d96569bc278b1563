using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace DualCluster.Testing;

/// <summary>
/// A small immutable property dictionary: a flat array searched linearly, which for the few properties a
/// message carries is smaller and faster than a <see cref="Dictionary{TKey, TValue}"/>.
/// </summary>
internal sealed class PropertyMap : IReadOnlyDictionary<string, string>
{
    public static readonly PropertyMap Empty = new([]);

    private readonly KeyValuePair<string, string>[] _items;

    private PropertyMap(KeyValuePair<string, string>[] items) => _items = items;

    public int Count => _items.Length;

    public IEnumerable<string> Keys => _items.Select(p => p.Key);

    public IEnumerable<string> Values => _items.Select(p => p.Value);

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No property '{key}'.");

    /// <summary>The user properties of <paramref name="message"/> plus its idempotency key, as a map.</summary>
    public static IReadOnlyDictionary<string, string> From(OutgoingMessage message)
    {
        var key = message.IdempotencyKey;
        if (!message.HasProperties)
        {
            return key is null ? Empty : new PropertyMap([new(MessageProperties.IdempotencyKey, key)]);
        }

        var properties = message.PropertiesView;
        if (properties.Count > 8)
        {
            var dictionary = new Dictionary<string, string>(properties, StringComparer.Ordinal);
            if (key is not null)
            {
                dictionary[MessageProperties.IdempotencyKey] = key;
            }

            return dictionary;
        }

        var items = new KeyValuePair<string, string>[properties.Count + (key is null ? 0 : 1)];
        var i = 0;
        foreach (var pair in properties)
        {
            if (key is not null && pair.Key == MessageProperties.IdempotencyKey)
            {
                continue;
            }

            items[i++] = pair;
        }

        if (key is not null)
        {
            items[i++] = new(MessageProperties.IdempotencyKey, key);
        }

        return new PropertyMap(i == items.Length ? items : items[..i]);
    }

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        foreach (var pair in _items)
        {
            if (string.Equals(pair.Key, key, StringComparison.Ordinal))
            {
                value = pair.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, string>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
