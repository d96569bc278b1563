namespace DualCluster.Testing;

/// <summary>A parsed tag filter expression: <c>*</c> (or empty) for every message, or tags joined by <c>||</c>.</summary>
internal sealed class TagFilter
{
    public static readonly TagFilter All = new("*", null);

    private readonly string[]? _tags;

    private TagFilter(string expression, string[]? tags)
    {
        Expression = expression;
        _tags = tags;
    }

    public string Expression { get; }

    public static TagFilter Parse(string? expression)
    {
        if (string.IsNullOrWhiteSpace(expression) || expression.Trim() == "*")
        {
            return All;
        }

        return new(expression, expression.Split("||", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
    }

    public bool Matches(string? tag)
    {
        if (_tags is null)
        {
            return true;
        }

        if (tag is null)
        {
            return false;
        }

        foreach (var t in _tags)
        {
            if (string.Equals(t, tag, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
