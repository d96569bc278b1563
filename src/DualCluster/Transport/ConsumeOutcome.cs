namespace DualCluster.Transport;

/// <summary>What a transport should do with a delivered message once its handler returned.</summary>
public readonly record struct ConsumeOutcome
{
    private ConsumeOutcome(bool acknowledge, TimeSpan? retryDelay)
    {
        Acknowledge = acknowledge;
        RetryDelay = retryDelay;
    }

    /// <summary>Processed (or a known duplicate): acknowledge it so it is never redelivered.</summary>
    public static ConsumeOutcome Ack { get; } = new(true, null);

    /// <summary>True to acknowledge; false to have the broker redeliver it later.</summary>
    public bool Acknowledge { get; }

    /// <summary>For a retry, how long the broker should wait before redelivering; null for the transport's default back-off.</summary>
    public TimeSpan? RetryDelay { get; }

    /// <summary>Not processed: redeliver with the transport's default back-off. Counts as a delivery attempt (dead-letter after the limit).</summary>
    public static ConsumeOutcome Retry() => new(false, null);

    /// <summary>Not processed: redeliver after <paramref name="delay"/> (rounded by the protocol to what it supports).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    public static ConsumeOutcome Retry(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return new(false, delay);
    }

    /// <inheritdoc/>
    public override string ToString() => Acknowledge ? "Ack" : RetryDelay is { } d ? $"Retry({d})" : "Retry";
}
