namespace DualCluster.Transport;

/// <summary>
/// A consumer group's outstanding work on one cluster. Each count is null when the transport cannot see
/// it; the drain check treats unknown as "not drained".
/// </summary>
public sealed record BacklogReport
{
    /// <summary>Messages stored but not yet delivered to the group (lag).</summary>
    public long? Ready { get; init; }

    /// <summary>Messages delivered but neither acked nor given back (invisible / in flight).</summary>
    public long? InFlight { get; init; }

    /// <summary>Messages waiting in the group's retry queue.</summary>
    public long? Retry { get; init; }

    /// <summary>Delayed / scheduled messages not yet due.</summary>
    public long? Delayed { get; init; }

    /// <summary>Per-queue lag, when the protocol reports it.</summary>
    public IReadOnlyList<QueueBacklog>? Queues { get; init; }

    /// <summary>Why some counts are unknown, when they are.</summary>
    public string? Remark { get; init; }

    /// <summary>
    /// True only when every count is known and zero and, when the transport reports per-queue lag, every queue's lag
    /// is zero too (a count summed from another source must not hide a queue that still lags).
    /// </summary>
    public bool IsDrained => Ready == 0 && InFlight == 0 && Retry == 0 && Delayed == 0 && QueueLag is null or 0;

    /// <summary>The summed per-queue lag; null when the transport does not report queues.</summary>
    public long? QueueLag => Queues?.Sum(q => q.Lag);

    /// <summary>The names of the counts the transport could not see (<c>Ready</c>, <c>InFlight</c>, <c>Retry</c>, <c>Delayed</c>); empty when all are known.</summary>
    public IReadOnlyList<string> UnknownFigures =>
        [.. new (string Name, long? Value)[] { (nameof(Ready), Ready), (nameof(InFlight), InFlight), (nameof(Retry), Retry), (nameof(Delayed), Delayed) }
            .Where(f => f.Value is null).Select(f => f.Name)];

    /// <summary>The sum of the known counts.</summary>
    public long KnownTotal => (Ready ?? 0) + (InFlight ?? 0) + (Retry ?? 0) + (Delayed ?? 0);

    /// <summary>A report for a transport that cannot see a backlog at all.</summary>
    public static BacklogReport Unknown(string remark) => new() { Remark = remark };

    /// <inheritdoc/>
    public override string ToString() =>
        $"ready={Show(Ready)} inFlight={Show(InFlight)} retry={Show(Retry)} delayed={Show(Delayed)}" + (Remark is null ? "" : $" ({Remark})");

    private static string Show(long? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown";
}

/// <summary>The lag of one queue.</summary>
/// <param name="Broker">The broker (or endpoint) holding the queue.</param>
/// <param name="QueueId">The queue id.</param>
/// <param name="BrokerOffset">The queue's max offset.</param>
/// <param name="ConsumerOffset">The group's committed offset.</param>
public sealed record QueueBacklog(string Broker, int QueueId, long BrokerOffset, long ConsumerOffset)
{
    /// <summary>Messages not yet consumed from this queue.</summary>
    public long Lag => Math.Max(0, BrokerOffset - ConsumerOffset);
}
