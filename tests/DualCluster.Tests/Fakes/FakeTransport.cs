using System.Collections.Concurrent;
using DualCluster.Transport;

namespace DualCluster.Tests.Fakes;

/// <summary>
/// A hand-driven transport for facade tests: records sends and consumer lifecycle events in one shared
/// journal (so tests can assert ordering across clusters), fails sends on demand, and lets a test push a
/// delivery through a consumer's handler and see the outcome.
/// </summary>
internal sealed class FakeTransport(ClusterRole role, List<string> journal) : IClusterTransport, IClusterProducer, IBacklogProbe
{
    private int _failuresLeft;
    private bool _failTransient = true;
    private long _sequence;

    public ClusterRole Role => role;

    public IClusterProducer Producer => this;

    public IBacklogProbe BacklogProbe => this;

    public ConcurrentQueue<(OutgoingMessage Message, string? Key)> Sent { get; } = new();

    public List<FakeConsumer> Consumers { get; } = [];

    public BacklogReport Backlog { get; set; } = new() { Ready = 0, InFlight = 0, Retry = 0, Delayed = 0 };

    public Func<OutgoingMessage, CancellationToken, Task>? BeforeSend { get; set; }

    /// <summary>Runs inside every consumer's <see cref="IClusterConsumer.StopAsync"/> of this transport (after it is journaled).</summary>
    public Func<CancellationToken, Task>? OnConsumerStop { get; set; }

    /// <summary>Runs inside every consumer's <see cref="IClusterConsumer.StartAsync"/> of this transport (after it is journaled).</summary>
    public Func<CancellationToken, Task>? OnConsumerStart { get; set; }

    public void FailNextSends(int count, bool transient = true)
    {
        _failuresLeft = count;
        _failTransient = transient;
    }

    public async ValueTask<SendReceipt> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        MessageValidator.Validate(message);
        if (BeforeSend is { } before)
        {
            await before(message, cancellationToken);
        }

        Sent.Enqueue((message, message.IdempotencyKey));
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            throw new ClusterTransportException(role, "UNAVAILABLE", _failTransient, "injected failure");
        }

        return new SendReceipt(role, $"{role}-{Interlocked.Increment(ref _sequence)}");
    }

    public IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler)
    {
        var consumer = new FakeConsumer(role, subscription, handler, journal) { OnStop = OnConsumerStop, OnStart = OnConsumerStart };
        lock (Consumers)
        {
            Consumers.Add(consumer);
        }

        return consumer;
    }

    public ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default)
    {
        lock (journal)
        {
            journal.Add($"probe {role}");
        }

        return new(Backlog);
    }

    public ValueTask DisposeAsync() => default;
}

internal sealed class FakeConsumer(ClusterRole role, ConsumerSubscription subscription, ClusterMessageHandler handler, List<string> journal) : IClusterConsumer
{
    private int _messageSequence;

    public ConsumerSubscription Subscription => subscription;

    /// <summary>Set by <see cref="StartAsync"/>, or by a test.</summary>
    public bool IsPositioned { get; set; }

    public bool Running { get; private set; }

    public Func<CancellationToken, Task>? OnStart { get; set; }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        Running = true;
        IsPositioned = true;
        lock (journal)
        {
            journal.Add($"start {role}");
        }

        return OnStart?.Invoke(cancellationToken) ?? Task.CompletedTask;
    }

    public Func<CancellationToken, Task>? OnStop { get; set; }

    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        Running = false;
        lock (journal)
        {
            journal.Add($"stop {role}");
        }

        return OnStop?.Invoke(cancellationToken) ?? Task.CompletedTask;
    }

    public ClusterMessageHandler Handler => handler;

    public ValueTask<ConsumeOutcome> DeliverAsync(string body, string? idempotencyKey = null, int attempt = 1, CancellationToken cancellationToken = default)
    {
        var properties = idempotencyKey is null
            ? null
            : new Dictionary<string, string> { [MessageProperties.IdempotencyKey] = idempotencyKey };
        var message = new ReceivedMessage(role, subscription.Topic, $"{role}-msg-{Interlocked.Increment(ref _messageSequence)}", System.Text.Encoding.UTF8.GetBytes(body), attempt, properties: properties);
        return handler(message, cancellationToken);
    }

    public ValueTask DisposeAsync() => default;
}
