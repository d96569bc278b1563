using DualCluster.Consuming;
using DualCluster.Transport;
using DualCluster.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DualCluster.Fleet;

/// <summary>
/// The node's link to the fleet registry: every <see cref="FleetOptions.HeartbeatInterval"/> it publishes this node's
/// record, reads everyone's, and asks the clusters about the consumer groups of the topics this node sends. The guard
/// reads <see cref="Current"/>. Without a registry it is inactive and the guard decides on the configuration.
/// </summary>
internal sealed class FleetMonitor : IHostedService, IAsyncDisposable, IDisposable
{
    private readonly RoutingState _routing;
    private readonly ClusterTransports _transports;
    private readonly FleetActivity _activity;
    private readonly IEnumerable<ConsumerSlot> _consumers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IFleetRegistry? _registry;
    private readonly Func<bool> _hasProducer;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private FleetFacts _current = FleetFacts.None;
    private Task? _loop;
    private bool _wasAvailable = true;
    private int _stopped;

    public FleetMonitor(
        RoutingState routing,
        ClusterTransports transports,
        FleetActivity activity,
        IEnumerable<ConsumerSlot> consumers,
        TimeProvider time,
        ILogger logger,
        IFleetRegistry? registry,
        Func<bool> hasProducer)
    {
        _routing = routing;
        _transports = transports;
        _activity = activity;
        _consumers = consumers;
        _time = time;
        _logger = logger;
        _registry = registry;
        _hasProducer = hasProducer;
    }

    /// <summary>True when a registry is registered: the guard decides on facts.</summary>
    public bool Active => _registry is not null;

    public FleetFacts Current => Volatile.Read(ref _current);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_registry is null)
        {
            FleetLog.ConfigurationOnly(_logger);
            return;
        }

        // One reading before the node starts sending or reading, so the first decisions are on facts.
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_registry is null || Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        try
        {
            // A graceful leave: the others stop counting on this node at once, not after its time to live.
            await _registry.RemoveAsync(_routing.NodeId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FleetRegistryUnavailableException or OperationCanceledException)
        {
            FleetLog.RemoveFailed(_logger, ex, _routing.NodeId);
        }
    }

    private async Task LoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_routing.Current.Options.Fleet.HeartbeatInterval, _time, token).ConfigureAwait(false);
                await RefreshAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Makes sure the facts cover <paramref name="topic"/>'s broker side: the first send of a topic waits for one reading
    /// of the clusters, so it is never routed on facts that do not know the topic.
    /// </summary>
    public async ValueTask<FleetFacts> EnsureTopicAsync(string topic, CancellationToken cancellationToken)
    {
        var facts = Current;
        if (_registry is null || facts.BrokerFacts.ContainsKey(topic) || !facts.Available)
        {
            return facts;
        }

        await RefreshAsync(cancellationToken, topic).ConfigureAwait(false);
        return Current;
    }

    /// <summary>Publishes this node's record, reads the live members and the broker facts; never throws but for cancellation.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken, string? extraTopic = null)
    {
        if (_registry is null)
        {
            return;
        }

        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (extraTopic is not null && Current.BrokerFacts.ContainsKey(extraTopic))
            {
                return;
            }

            var snapshot = _routing.Current;
            var options = snapshot.Options;
            var previous = Current;
            FleetFacts next;
            try
            {
                var self = new FleetMember(
                    _routing.NodeId,
                    snapshot.Version,
                    _hasProducer() ? snapshot.Plan.ProducerTarget : null,
                    _activity.WritesWithin(options.Fleet.WriteWindow),
                    [.. _consumers.Select(c => c.Instance?.FleetRecord).OfType<FleetConsumer>()]);
                await _registry.PublishAsync(self, options.Fleet.TimeToLive, cancellationToken).ConfigureAwait(false);
                var members = await _registry.GetLiveMembersAsync(cancellationToken).ConfigureAwait(false);
                // The topics this node sent within the write window (the first send of another one asks for it): a
                // topic no longer sent is no longer asked about every heartbeat.
                var topics = new SortedSet<string>(_activity.Topics, StringComparer.Ordinal);
                if (extraTopic is not null)
                {
                    topics.Add(extraTopic);
                }

                var broker = new Dictionary<string, TopicBrokerFacts>(StringComparer.Ordinal);
                foreach (var topic in topics)
                {
                    broker[topic] = await ReadBrokerFactsAsync(topic, members, options, cancellationToken).ConfigureAwait(false);
                }

                next = new FleetFacts(previous.Version + 1, _time.GetUtcNow(), members, broker, null);
                if (!_wasAvailable || previous.ReadAt is null)
                {
                    FleetLog.FactsAvailable(_logger, _routing.NodeId, members.Count);
                }

                _wasAvailable = true;
            }
            catch (FleetRegistryUnavailableException ex)
            {
                // Keep the last members and broker facts for the people reading the status, marked unavailable: the
                // guard moves nothing on them.
                var reason = $"the fleet registry could not be reached ({ex.Message})";
                next = new FleetFacts(previous.Version + 1, previous.ReadAt, previous.Members, previous.BrokerFacts, reason);
                if (_wasAvailable)
                {
                    FleetLog.FactsUnavailable(_logger, ex, _routing.NodeId, reason);
                }

                _wasAvailable = false;
            }

            Volatile.Write(ref _current, next);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>
    /// Asks Old which groups consume <paramref name="topic"/> and New whether the groups not proven by the registry hold a
    /// position there. A transport that cannot tell by protocol contributes nothing; one that cannot be reached makes the
    /// topic's facts unknown (nothing moves for it).
    /// </summary>
    private async Task<TopicBrokerFacts> ReadBrokerFactsAsync(string topic, IReadOnlyList<FleetMember> members, DualClusterOptions options, CancellationToken cancellationToken)
    {
        try
        {
            IReadOnlyCollection<string> oldGroups = [];
            if (_transports.IsConfigured(ClusterRole.Old, options) && _transports.Get(ClusterRole.Old).GroupProbe is { } oldProbe)
            {
                try
                {
                    oldGroups = await oldProbe.GetConsumerGroupsAsync(topic, cancellationToken).ConfigureAwait(false);
                }
                catch (ClusterTransportException ex) when (ex.MissingTopic is not null)
                {
                    // The topic does not exist on Old: no group consumes it there.
                }
            }

            var positioned = new HashSet<string>(StringComparer.Ordinal);
            if (_transports.IsConfigured(ClusterRole.New, options) && _transports.Get(ClusterRole.New).GroupProbe is { } newProbe)
            {
                var candidates = new SortedSet<string>(oldGroups, StringComparer.Ordinal);
                if (options.Guard.RequiredGroups.TryGetValue(topic, out var required))
                {
                    candidates.UnionWith(required);
                }

                foreach (var group in candidates)
                {
                    if (!FleetFacts.MembersProve(members, group, topic, ClusterRole.New) && await HasPositionAsync(newProbe, group, topic, cancellationToken).ConfigureAwait(false))
                    {
                        positioned.Add(group);
                    }
                }
            }

            return new TopicBrokerFacts(oldGroups, positioned, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new TopicBrokerFacts([], new HashSet<string>(StringComparer.Ordinal), $"the clusters could not be asked about the groups of topic '{topic}' ({ex.Message})");
        }
    }

    private static async Task<bool> HasPositionAsync(IConsumerGroupProbe probe, string group, string topic, CancellationToken cancellationToken)
    {
        try
        {
            return await probe.HasPositionAsync(group, topic, cancellationToken).ConfigureAwait(false);
        }
        catch (ClusterTransportException ex) when (ex.MissingTopic is not null)
        {
            // The topic does not exist on New yet: no group holds a position there.
            return false;
        }
    }

    /// <summary>For containers disposed synchronously: stops the heartbeat without waiting for it (it publishes nothing more).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _stopping.Cancel();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            if (_loop is not null)
            {
                await _loop.ConfigureAwait(false);
            }
        }

        _stopping.Dispose();
        _refreshing.Dispose();
    }
}

/// <summary>
/// Starts and stops the node's <see cref="FleetMonitor"/>. Resolves it only when the host starts, so a configuration that
/// fails validation stops the start with its own error, not one from building the monitor.
/// </summary>
internal sealed class FleetMonitorHost(IServiceProvider services) : IHostedService
{
    private FleetMonitor? _monitor;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _monitor = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<FleetMonitor>(services);
        return _monitor.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _monitor?.StopAsync(cancellationToken) ?? Task.CompletedTask;
}
