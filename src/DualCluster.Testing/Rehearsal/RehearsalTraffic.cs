using System.Diagnostics;

namespace DualCluster.Testing;

/// <summary>The traffic plan: sequence numbers 1..total handed out to the producer nodes' send loops, paced at a rate.</summary>
internal sealed class RehearsalTraffic(int total, double messagesPerSecond)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _next;
    private long _allowed;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Sequence numbers handed out so far.</summary>
    public long Taken => Math.Min(Interlocked.Read(ref _next), total);

    public bool Exhausted => Interlocked.Read(ref _next) >= total;

    /// <summary>Lets sequence numbers up to <paramref name="sequence"/> be sent (the plan step that covers them is applied).</summary>
    public void Allow(long sequence) => Interlocked.Exchange(ref _allowed, Math.Max(Interlocked.Read(ref _allowed), sequence));

    /// <summary>Waits until <paramref name="sequence"/> may be sent: the traffic never runs ahead of the plan.</summary>
    public async ValueTask WaitAllowedAsync(long sequence, CancellationToken cancellationToken)
    {
        while (sequence > Interlocked.Read(ref _allowed))
        {
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    public bool TryTake(out long sequence, out TimeSpan due)
    {
        sequence = Interlocked.Increment(ref _next);
        if (sequence > total)
        {
            due = default;
            return false;
        }

        due = messagesPerSecond > 0 ? TimeSpan.FromSeconds((sequence - 1) / messagesPerSecond) : TimeSpan.Zero;
        return true;
    }
}
