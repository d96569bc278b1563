using DualCluster.Testing;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// Receipt handles beyond what the in-memory broker keeps: a handle replaced by ChangeInvisibleDuration or by an
/// auto-renewal still acks the delivery (fact sheet §4.6 step 6, §9.7: the C# simple consumer acks with the old
/// handle; a push consumer with auto-renew acks with the original), and auto-renew deliveries are renewed shortly
/// before their deadline while their client is known. Every handle operation runs under one lock so a renewal and an
/// ack never race. Thread-safe.
/// </summary>
internal sealed class LoopbackReceipts : IDisposable
{
    private readonly object _gate = new();
    private readonly InMemoryBroker _broker;
    private readonly Dictionary<string, string> _replacedBy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Renewal> _renewals = new(StringComparer.Ordinal);
    private readonly ITimer _timer;
    private readonly Func<string, bool> _clientKnown;
    private readonly TimeSpan _renewDuration;

    public LoopbackReceipts(InMemoryBroker broker, TimeSpan renewDuration, Func<string, bool> clientKnown)
    {
        _broker = broker;
        _renewDuration = renewDuration;
        _clientKnown = clientKnown;
        var period = TimeSpan.FromTicks(Math.Clamp(renewDuration.Ticks / 6, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond));
        _timer = broker.TimeProvider.CreateTimer(_ => Renew(), null, period, period);
    }

    /// <summary>Tracks a delivery received with <c>auto_renew</c>.</summary>
    public void TrackAutoRenew(string clientId, string group, string topic, string handle, DateTimeOffset deadline)
    {
        lock (_gate)
        {
            _renewals[handle] = new Renewal(clientId, group, topic) { Current = handle, Deadline = deadline };
        }
    }

    /// <summary>Acks by any handle the delivery ever had.</summary>
    public bool Ack(string group, string topic, string handle)
    {
        lock (_gate)
        {
            var current = Resolve(handle);
            if (!_broker.Ack(group, topic, current))
            {
                return false;
            }

            Forget(handle);
            return true;
        }
    }

    /// <summary>Changes the invisible duration by any handle the delivery ever had; returns the new handle or null when stale.</summary>
    public string? ChangeInvisibleDuration(string group, string topic, string handle, TimeSpan duration)
    {
        lock (_gate)
        {
            var current = Resolve(handle);
            var next = _broker.ChangeInvisibleDuration(group, topic, current, duration);
            if (next is not null)
            {
                _replacedBy[current] = next;
            }

            return next;
        }
    }

    /// <summary>Forwards to the dead-letter queue by any handle the delivery ever had.</summary>
    public bool ForwardToDeadLetter(string group, string topic, string handle)
    {
        lock (_gate)
        {
            var current = Resolve(handle);
            if (!_broker.ForwardToDeadLetter(group, topic, current))
            {
                return false;
            }

            Forget(handle);
            return true;
        }
    }

    public void Dispose() => _timer.Dispose();

    private string Resolve(string handle)
    {
        var current = handle;
        for (var i = 0; i < 10_000 && _replacedBy.TryGetValue(current, out var next); i++)
        {
            current = next;
        }

        return current;
    }

    private void Forget(string handle)
    {
        var current = handle;
        _renewals.Remove(handle);
        while (_replacedBy.Remove(current, out var next))
        {
            current = next;
        }
    }

    private void Renew()
    {
        var now = _broker.TimeProvider.GetUtcNow();
        var ahead = TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond * 10, _renewDuration.Ticks / 3));
        lock (_gate)
        {
            List<string>? done = null;
            foreach (var (original, renewal) in _renewals)
            {
                if (renewal.Deadline - now > ahead)
                {
                    continue;
                }

                string? next = null;
                try
                {
                    next = _clientKnown(renewal.ClientId)
                        ? _broker.ChangeInvisibleDuration(renewal.Group, renewal.Topic, renewal.Current, _renewDuration)
                        : null;
                }
                catch (InMemoryBrokerException)
                {
                    // Paused: try again on the next tick (the delivery may expire meanwhile, as on a real proxy).
                    continue;
                }

                if (next is null)
                {
                    // Acked, nacked, expired, or its client is gone: nothing to renew any more.
                    (done ??= []).Add(original);
                    continue;
                }

                _replacedBy[renewal.Current] = next;
                renewal.Current = next;
                renewal.Deadline = now + _renewDuration;
            }

            foreach (var original in done ?? [])
            {
                _renewals.Remove(original);
            }
        }
    }

    private sealed class Renewal(string clientId, string group, string topic)
    {
        public string ClientId { get; } = clientId;

        public string Group { get; } = group;

        public string Topic { get; } = topic;

        public required string Current { get; set; }

        public DateTimeOffset Deadline { get; set; }
    }
}
