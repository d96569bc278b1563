using System.Collections.Concurrent;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// Wire-level faults of a <see cref="GrpcLoopbackBroker"/>: in-band failures of chosen RPCs, lost acks, slow
/// answers, a whole-endpoint outage and killed Telemetry streams. Storage faults (paused cluster, failed or lost
/// sends, lost acks by probability) live on the in-memory broker's own <c>Faults</c>; a new queue for a topic is
/// <c>Broker.AddQueues</c> (the next route refresh reports it). Thread-safe.
/// </summary>
public sealed class GrpcLoopbackFaults
{
    private readonly ConcurrentDictionary<GrpcLoopbackRpc, (int Count, int Code)> _failures = new();
    private readonly ConcurrentDictionary<GrpcLoopbackRpc, (int Count, TimeSpan Delay)> _delays = new();
    private readonly Func<int> _killTelemetry;
    private int _droppedAcks;
    private long _latencyTicks;
    private volatile bool _outage;

    internal GrpcLoopbackFaults(Func<int> killTelemetry) => _killTelemetry = killTelemetry;

    /// <summary>
    /// Whether the endpoint is in an outage: every call fails with gRPC status UNAVAILABLE before it is processed
    /// (as when a load balancer in front of the proxy has no healthy backend). Open Telemetry streams stay open
    /// unless killed with <see cref="KillTelemetryStreams"/>.
    /// </summary>
    public bool IsInOutage => _outage;

    /// <summary>A delay added before every unary answer and before every ReceiveMessage is processed (default zero).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _latencyTicks, value.Ticks);
        }
    }

    /// <summary>Starts an outage (see <see cref="IsInOutage"/>).</summary>
    public void StartOutage() => _outage = true;

    /// <summary>Ends an outage.</summary>
    public void EndOutage() => _outage = false;

    /// <summary>
    /// The next <paramref name="count"/> calls of <paramref name="rpc"/> are answered in-band with status
    /// <paramref name="code"/> (a RocketMQ <c>Code</c> value; default INTERNAL_SERVER_ERROR, 50001) without being
    /// processed. For Telemetry the stream gets one command carrying that status and is completed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public void FailNext(GrpcLoopbackRpc rpc, int count, int code = 50001)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _failures[rpc] = (count, code);
    }

    /// <summary>The next <paramref name="count"/> calls of <paramref name="rpc"/> are answered after <paramref name="delay"/> (in addition to <see cref="Latency"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> or <paramref name="delay"/> is negative.</exception>
    public void DelayNext(GrpcLoopbackRpc rpc, int count, TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        _delays[rpc] = (count, delay);
    }

    /// <summary>
    /// The next <paramref name="count"/> ack entries are answered OK but not applied, so the message is redelivered
    /// after its invisible duration (a lost ack: the consumer sees a duplicate).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public void DropNextAcks(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _droppedAcks, count);
    }

    /// <summary>
    /// Ends every open Telemetry stream now with gRPC status UNAVAILABLE, as a proxy restart or a broken connection
    /// would. Settings the clients sent are kept. Clients must reopen the stream (the official C# client never does).
    /// </summary>
    /// <returns>How many streams were ended.</returns>
    public int KillTelemetryStreams() => _killTelemetry();

    /// <summary>Clears every fault (outage, failures, delays, lost acks, latency).</summary>
    public void Reset()
    {
        _outage = false;
        _failures.Clear();
        _delays.Clear();
        Volatile.Write(ref _droppedAcks, 0);
        Interlocked.Exchange(ref _latencyTicks, 0);
    }

    internal int? TakeFailure(GrpcLoopbackRpc rpc)
    {
        while (_failures.TryGetValue(rpc, out var entry) && entry.Count > 0)
        {
            if (_failures.TryUpdate(rpc, (entry.Count - 1, entry.Code), entry))
            {
                return entry.Code;
            }
        }

        return null;
    }

    internal TimeSpan TakeDelay(GrpcLoopbackRpc rpc)
    {
        var delay = Latency;
        while (_delays.TryGetValue(rpc, out var entry) && entry.Count > 0)
        {
            if (_delays.TryUpdate(rpc, (entry.Count - 1, entry.Delay), entry))
            {
                return delay + entry.Delay;
            }
        }

        return delay;
    }

    internal bool TakeDroppedAck()
    {
        while (true)
        {
            var current = Volatile.Read(ref _droppedAcks);
            if (current <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _droppedAcks, current - 1, current) == current)
            {
                return true;
            }
        }
    }
}
