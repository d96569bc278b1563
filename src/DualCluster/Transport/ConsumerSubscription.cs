namespace DualCluster.Transport;

/// <summary>What a cluster consumer reads and how much at once. Immutable.</summary>
public sealed record ConsumerSubscription
{
    /// <summary>Creates a subscription of <paramref name="group"/> to <paramref name="topic"/>.</summary>
    /// <exception cref="ArgumentException">The group or topic name is invalid.</exception>
    public ConsumerSubscription(string group, string topic)
    {
        MessageValidator.ValidateGroup(group);
        MessageValidator.ValidateTopic(topic);
        Group = group;
        Topic = topic;
    }

    /// <summary>The consumer group.</summary>
    public string Group { get; }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>Tag filter: <c>*</c> for all, or tags joined by <c>||</c> (<c>created || paid</c>).</summary>
    public string FilterExpression { get; init; } = "*";

    /// <summary>Most handler calls running at once on this consumer.</summary>
    public int MaxConcurrency { get; init; } = 16;

    /// <summary>Deliveries before a message goes to the group's dead-letter queue.</summary>
    public int MaxDeliveryAttempts { get; init; } = 16;

    /// <summary>How long a delivered, unsettled message stays invisible before the broker redelivers it.</summary>
    public TimeSpan InvisibleDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether a tag passes <see cref="FilterExpression"/>.</summary>
    public bool Matches(string? tag)
    {
        var expression = FilterExpression;
        if (string.IsNullOrWhiteSpace(expression) || expression.Trim() == "*")
        {
            return true;
        }

        if (tag is null)
        {
            return false;
        }

        foreach (var part in expression.Split("||", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (string.Equals(part, tag, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
