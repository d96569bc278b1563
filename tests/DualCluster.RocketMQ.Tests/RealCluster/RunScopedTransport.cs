using System.Globalization;
using DualCluster.Transport;

namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>
/// A transport that keeps one test run to itself on a topic that may hold other messages: every message it sends
/// carries the run id in the <see cref="RunProperty"/> property, and its consumers hand only those messages to the
/// handler. Any other message (older runs, an interrupted run's leftovers) is acknowledged and counted in
/// <see cref="Ignored"/>, so the check's topic and group drain instead of collecting retries.
/// </summary>
internal sealed class RunScopedTransport : IClusterTransport
{
    /// <summary>The property that carries the run id.</summary>
    public const string RunProperty = "DC_IT_RUN";

    private readonly IClusterTransport _inner;
    private readonly Action<ReceivedMessage, ConsumeOutcome>? _settled;
    private long _ignored;

    /// <param name="inner">The transport under test.</param>
    /// <param name="runId">This run's id.</param>
    /// <param name="settled">Called with each of this run's deliveries and the outcome the handler gave it (observers of a facade).</param>
    public RunScopedTransport(IClusterTransport inner, string runId, Action<ReceivedMessage, ConsumeOutcome>? settled = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentException.ThrowIfNullOrEmpty(runId);
        _inner = inner;
        _settled = settled;
        RunId = runId;
        Producer = new StampingProducer(inner.Producer, runId);
    }

    /// <summary>This run's id.</summary>
    public string RunId { get; }

    /// <summary>How many deliveries of other runs' messages were acknowledged and ignored.</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    public ClusterRole Role => _inner.Role;

    public IClusterProducer Producer { get; }

    public IBacklogProbe BacklogProbe => _inner.BacklogProbe;

    /// <summary>A fresh run id: unique, short, and valid as a property value.</summary>
    public static string NewRunId() =>
        "it-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Whether <paramref name="message"/> was sent by this run.</summary>
    public bool IsOurs(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Properties.TryGetValue(RunProperty, out var id) && id == RunId;
    }

    public IClusterConsumer CreateConsumer(ConsumerSubscription subscription, ClusterMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return _inner.CreateConsumer(subscription, async (message, cancellationToken) =>
        {
            if (!IsOurs(message))
            {
                Interlocked.Increment(ref _ignored);
                return ConsumeOutcome.Ack;
            }

            var outcome = await handler(message, cancellationToken);
            _settled?.Invoke(message, outcome);
            return outcome;
        });
    }

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private sealed class StampingProducer(IClusterProducer inner, string runId) : IClusterProducer
    {
        public ValueTask<SendReceipt> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(message);
            message.Properties[RunProperty] = runId;
            return inner.SendAsync(message, cancellationToken);
        }
    }
}
