namespace DualCluster.Testing;

/// <summary>Client-side settings of an <see cref="InMemoryClusterTransport"/>.</summary>
public sealed class InMemoryTransportOptions
{
    /// <summary>Largest body a send accepts (default <see cref="MessageValidator.DefaultMaxBodySize"/>).</summary>
    public int MaxBodySize { get; set; } = MessageValidator.DefaultMaxBodySize;

    /// <summary>
    /// How long a message whose handler returned <see cref="Transport.ConsumeOutcome.Retry()"/> without a delay, or threw,
    /// waits before redelivery, by the 1-based attempt that failed. Default: 1 s per attempt, at most 10 s.
    /// </summary>
    public Func<int, TimeSpan> RetryBackoff { get; set; } = static attempt => TimeSpan.FromSeconds(Math.Clamp(attempt, 1, 10));

    /// <summary>How long one receive waits for messages before asking again (default 5 s; a long poll ends early when a message arrives).</summary>
    public TimeSpan PollTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most messages one receive fetches (default 32; never more than free handler slots).</summary>
    public int ReceiveBatchSize { get; set; } = 32;

    /// <summary>How long a consumer waits before fetching again after the broker refused (a paused cluster). Default 100 ms.</summary>
    public TimeSpan FetchErrorDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long disposing a running consumer waits for its in-flight handlers (default 10 s).</summary>
    public TimeSpan DisposeTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
