using System.Globalization;
using DualCluster.Testing;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// The receipt handles the loopback hands out, with the semantics of an Apache RocketMQ 5.x proxy over a pop broker:
/// <list type="bullet">
/// <item>A handle is an opaque, checkpoint-like string (Apache: <c>ExtraInfoUtil</c>'s space-separated
/// <c>startOffset popTime invisibleTime reviveQid topicType brokerName queueId offset</c> plus the commit-log offset,
/// see <c>ReceiptHandle.decode</c>); each one carries its own deadline, the pop time plus the invisible time.</item>
/// <item>A handle past its own deadline is refused with INVALID_RECEIPT_HANDLE (proxy
/// <c>AbstractProcessor.validateReceiptHandle</c> → <c>ReceiptHandle.isExpired</c>), whatever happened since.</item>
/// <item>An ack appends an ack record for the handle's checkpoint and answers OK whether or not that checkpoint is
/// still live (broker <c>AckMessageProcessor.processRequest</c>): a second ack of an unexpired handle answers OK, and
/// an ack with a handle that ChangeInvisibleDuration replaced answers OK but settles nothing, since the message now
/// hangs on the new checkpoint and comes back when the new invisible time ends.</item>
/// <item>ChangeInvisibleDuration appends a new checkpoint and then acks the original one (broker
/// <c>ChangeInvisibleTimeProcessor.appendCheckPointThenAckOrigin</c>) and answers with the new handle
/// (proxy <c>ConsumerProcessor.changeInvisibleTime</c>).</item>
/// <item>Deliveries received with <c>auto_renew</c> are renewed shortly before their deadline while their client is
/// known, and an ack or change by the original handle acts on the latest renewed one, once (proxy
/// <c>ReceiptHandleProcessor</c> / <c>AckMessageActivity.getHandleString</c> remove the entry as they use it).</item>
/// </list>
/// Every handle operation runs under one lock so a renewal and an ack never race. Thread-safe.
/// </summary>
/// <remarks>
/// Known gap: a genuine ChangeInvisibleDuration with a stale but unexpired handle appends a second checkpoint and the
/// message is delivered again for each; the in-memory broker cannot hold two checkpoints of one delivery, so the
/// loopback answers INVALID_RECEIPT_HANDLE there (and for ForwardMessageToDeadLetterQueue with a stale handle).
/// </remarks>
internal sealed class LoopbackReceipts : IDisposable
{
    private readonly object _gate = new();
    private readonly InMemoryBroker _broker;
    private readonly string _brokerName;
    private readonly Dictionary<string, Issued> _issued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Renewal> _renewals = new(StringComparer.Ordinal);
    private readonly ITimer _timer;
    private readonly Func<string, bool> _clientKnown;
    private readonly TimeSpan _renewDuration;
    private long _sequence;

    public LoopbackReceipts(InMemoryBroker broker, string brokerName, TimeSpan renewDuration, Func<string, bool> clientKnown)
    {
        _broker = broker;
        _brokerName = brokerName;
        _renewDuration = renewDuration;
        _clientKnown = clientKnown;
        var period = TimeSpan.FromTicks(Math.Clamp(renewDuration.Ticks / 6, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond));
        _timer = broker.TimeProvider.CreateTimer(_ => Renew(), null, period, period);
    }

    /// <summary>What an ack or a change answers.</summary>
    public enum Outcome
    {
        /// <summary>OK (whether or not it settled anything).</summary>
        Ok,

        /// <summary>The handle is unknown or past its own deadline: INVALID_RECEIPT_HANDLE.</summary>
        Expired,
    }

    /// <summary>Issues the wire handle of a delivery just popped from the in-memory broker.</summary>
    public string Issue(string group, string topic, PopDelivery delivery, TimeSpan invisible)
    {
        lock (_gate)
        {
            var now = _broker.TimeProvider.GetUtcNow();
            return IssueCore(group, topic, delivery.ReceiptHandle, delivery.Message.QueueId, delivery.Message.QueueOffset, now, invisible);
        }
    }

    /// <summary>Tracks a delivery received with <c>auto_renew</c>, by the wire handle it was delivered with.</summary>
    public void TrackAutoRenew(string clientId, string group, string topic, string handle, DateTimeOffset deadline)
    {
        lock (_gate)
        {
            if (_issued.TryGetValue(handle, out var issued))
            {
                _renewals[handle] = new Renewal(clientId, group, topic) { Current = issued.BrokerHandle, Deadline = deadline };
            }
        }
    }

    /// <summary>Acks by a wire handle; see the class remarks for what settles and what only answers OK.</summary>
    public Outcome Ack(string group, string topic, string handle)
    {
        lock (_gate)
        {
            var now = _broker.TimeProvider.GetUtcNow();
            if (_renewals.Remove(handle, out var renewal))
            {
                // Auto-renewed delivery: the proxy acks the latest renewed handle it holds for this original one.
                _broker.Ack(group, topic, renewal.Current);
                return Outcome.Ok;
            }

            if (!_issued.TryGetValue(handle, out var issued) || issued.Deadline <= now)
            {
                return Outcome.Expired;
            }

            // Settles only while this handle's checkpoint is the live one; a replaced or already acked one is a no-op.
            _broker.Ack(group, topic, issued.BrokerHandle);
            return Outcome.Ok;
        }
    }

    /// <summary>Changes the invisible duration by a wire handle; returns the new handle, or null when the handle is expired, unknown or stale.</summary>
    public string? ChangeInvisibleDuration(string group, string topic, string handle, TimeSpan duration)
    {
        lock (_gate)
        {
            var now = _broker.TimeProvider.GetUtcNow();
            string brokerHandle;
            if (_renewals.Remove(handle, out var renewal))
            {
                brokerHandle = renewal.Current;
            }
            else if (_issued.TryGetValue(handle, out var issued) && issued.Deadline > now)
            {
                brokerHandle = issued.BrokerHandle;
            }
            else
            {
                return null;
            }

            if (_issued.TryGetValue(handle, out var origin)
                && _broker.ChangeInvisibleDuration(group, topic, brokerHandle, duration) is { } next)
            {
                return IssueCore(group, topic, next, origin.QueueId, origin.QueueOffset, now, duration);
            }

            return null;
        }
    }

    /// <summary>Forwards to the dead-letter queue by a wire handle; false when the handle is expired, unknown or stale.</summary>
    public bool ForwardToDeadLetter(string group, string topic, string handle)
    {
        lock (_gate)
        {
            var now = _broker.TimeProvider.GetUtcNow();
            if (_renewals.Remove(handle, out var renewal))
            {
                return _broker.ForwardToDeadLetter(group, topic, renewal.Current);
            }

            return _issued.TryGetValue(handle, out var issued)
                && issued.Deadline > now
                && _broker.ForwardToDeadLetter(group, topic, issued.BrokerHandle);
        }
    }

    public void Dispose() => _timer.Dispose();

    private string IssueCore(string group, string topic, string brokerHandle, int queueId, long queueOffset, DateTimeOffset now, TimeSpan invisible)
    {
        var popTime = now.ToUnixTimeMilliseconds();
        var sequence = ++_sequence;
        // Checkpoint-like, as Apache's: startOffset popTime invisibleTime reviveQid topicType brokerName queueId offset,
        // then a commit-log-offset-like number (here a sequence, which keeps every handle unique). Opaque to clients.
        var handle = string.Create(
            CultureInfo.InvariantCulture,
            $"{queueOffset} {popTime} {(long)invisible.TotalMilliseconds} 0 0 {_brokerName} {queueId} {queueOffset} {sequence}");
        _issued[handle] = new Issued(group, topic, brokerHandle, queueId, queueOffset, now + invisible);
        return handle;
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

                renewal.Current = next;
                renewal.Deadline = now + _renewDuration;
            }

            foreach (var original in done ?? [])
            {
                _renewals.Remove(original);
            }

            // A handle past its own deadline is refused whether it is known or not: forget it.
            List<string>? expired = null;
            foreach (var (handle, issued) in _issued)
            {
                if (issued.Deadline <= now && !_renewals.ContainsKey(handle))
                {
                    (expired ??= []).Add(handle);
                }
            }

            foreach (var handle in expired ?? [])
            {
                _issued.Remove(handle);
            }
        }
    }

    private sealed record Issued(string Group, string Topic, string BrokerHandle, int QueueId, long QueueOffset, DateTimeOffset Deadline);

    private sealed class Renewal(string clientId, string group, string topic)
    {
        public string ClientId { get; } = clientId;

        public string Group { get; } = group;

        public string Topic { get; } = topic;

        public required string Current { get; set; }

        public DateTimeOffset Deadline { get; set; }
    }
}
