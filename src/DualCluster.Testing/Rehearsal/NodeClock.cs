namespace DualCluster.Testing;

/// <summary>
/// One node's clock: the fleet's clock shifted by <see cref="Offset"/> (clock skew). Once <see cref="Stop"/> is
/// called (the node's process "crashed"), none of its timers fires again.
/// </summary>
internal sealed class NodeClock(TimeProvider inner, TimeSpan offset) : TimeProvider
{
    private volatile bool _stopped;

    public TimeSpan Offset { get; } = offset;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override long TimestampFrequency => inner.TimestampFrequency;

    public void Stop() => _stopped = true;

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + Offset;

    public override long GetTimestamp() => inner.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return inner.CreateTimer(
            s =>
            {
                if (!_stopped)
                {
                    callback(s);
                }
            },
            state,
            dueTime,
            period);
    }
}
