using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Apache.Rocketmq.V2;
using DualCluster.Transport;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// What every 5.x client (producer, push consumer) does, in the order of fact sheet §4.2: QueryRoute per topic,
/// Telemetry with Settings first to each broker endpoint, then Heartbeat, route refresh and settings re-sync on
/// a schedule; NotifyClientTermination on shutdown. One instance = one client id.
/// </summary>
internal abstract class GrpcClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TopicRoute> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TelemetrySession> _sessions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _topicGate = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ClientType _clientType;
    private Task[] _loops = [];
    private int _loopsStarted;
    private int _shutdown;

    protected GrpcClient(GrpcConnection connection, ClientType clientType, ILogger logger)
    {
        Connection = connection;
        _clientType = clientType;
        Logger = logger;
        ClientId = ClientIdentity.NewClientId(connection.Time);
    }

    public GrpcConnection Connection { get; }

    public GrpcTransportOptions Options => Connection.Options;

    public ClusterRole Role => Connection.Role;

    public ILogger Logger { get; }

    public string ClientId { get; }

    /// <summary>Raised after each route refresh round (tests wait on it).</summary>
    public event Action? RouteRefreshed;

    /// <summary>Telemetry streams opened so far over all endpoints (1 per endpoint + reconnects).</summary>
    public int TelemetryConnections => _sessions.Values.Sum(s => s.Connections);

    /// <summary>Cancelled when the client shuts down.</summary>
    protected CancellationToken Lifetime => _lifetime.Token;

    /// <summary>The cached route of <paramref name="topic"/>, or null before its first use (tests observe refreshes).</summary>
    internal TopicRoute? CachedRoute(string topic) => _routes.TryGetValue(topic, out var route) ? route : null;

    /// <summary>The cached routes by topic.</summary>
    protected IReadOnlyDictionary<string, TopicRoute> Routes => _routes;

    /// <summary>The settings this client reports (§2.3): its type, access point, timeout, user agent and pub/sub part.</summary>
    public Settings CreateSettings()
    {
        var settings = new Settings
        {
            ClientType = _clientType,
            AccessPoint = Options.AccessPoint.ToProto(),
            RequestTimeout = Duration.FromTimeSpan(Options.RequestTimeout),
            UserAgent = new UA
            {
                Language = Language.DotNet,
                Version = "dualcluster",
                Platform = RuntimeInformation.OSDescription,
                Hostname = ClientIdentity.HostName,
            },
        };
        FillSettings(settings);
        return settings;
    }

    /// <summary>Applies the server's merged settings (from Telemetry; any thread).</summary>
    public abstract void ApplyServerSettings(Settings settings);

    /// <summary>A Telemetry stream broke (the session reconnects by itself).</summary>
    public virtual void OnTelemetryBroken(TelemetrySession session)
    {
    }

    /// <summary>The server answered settings on a stream.</summary>
    public virtual void OnSettingsAcknowledged(TelemetrySession session)
    {
    }

    public async ValueTask DisposeAsync()
    {
        await ShutdownAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Adds the producer's topics or the consumer's subscription.</summary>
    protected abstract void FillSettings(Settings settings);

    /// <summary>The heartbeat of this client type.</summary>
    protected abstract HeartbeatRequest CreateHeartbeat();

    /// <summary>The goodbye of this client type.</summary>
    protected abstract NotifyClientTerminationRequest CreateTermination();

    /// <summary>A topic is about to be added (before its settings are sent).</summary>
    protected virtual void OnTopicAdding(string topic)
    {
    }

    /// <summary>An endpoint answered a heartbeat.</summary>
    protected virtual void OnEndpointHealthy(GrpcEndpoint endpoint)
    {
    }

    /// <summary>The cached route of <paramref name="topic"/>, fetched (and its endpoints' Telemetry opened) on first use.</summary>
    protected ValueTask<TopicRoute> GetRouteAsync(string topic, CancellationToken cancellationToken) =>
        _routes.TryGetValue(topic, out var route) ? new(route) : new(AddTopicAsync(topic, cancellationToken));

    /// <summary>Heartbeats one endpoint; throws on failure.</summary>
    protected async Task HeartbeatAsync(GrpcEndpoint endpoint, CancellationToken cancellationToken)
    {
        HeartbeatResponse response;
        try
        {
            response = await Connection.Client(endpoint)
                .HeartbeatAsync(CreateHeartbeat(), Connection.CallOptions(ClientId, Options.RequestTimeout, cancellationToken))
                .ConfigureAwait(false);
        }
        catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("Heartbeat cancelled.", GrpcErrors.Scrub(ex), cancellationToken);
        }
        catch (RpcException ex)
        {
            throw GrpcErrors.FromRpc(Role, ex, "Heartbeat", endpoint, Options.HasCredentials);
        }

        if (response.Status?.Code == Code.UnrecognizedClientType && _sessions.TryGetValue(endpoint.Key, out var session))
        {
            // The server lost our settings (restart): re-send them; the next heartbeat will pass.
            await session.SyncSettingsAsync().ConfigureAwait(false);
        }

        GrpcErrors.ThrowIfNotOk(Role, response.Status, $"Heartbeat to {endpoint.Key}");
        OnEndpointHealthy(endpoint);
    }

    /// <summary>Re-sends settings to <paramref name="endpoint"/> (after the server said it does not know this client).</summary>
    protected Task ResyncSettingsAsync(GrpcEndpoint endpoint) =>
        _sessions.TryGetValue(endpoint.Key, out var session) ? session.SyncSettingsAsync() : Task.CompletedTask;

    /// <summary>Re-sends settings on every stream (after the settings changed).</summary>
    protected Task ResyncAllSettingsAsync() => Task.WhenAll(_sessions.Values.Select(s => s.SyncSettingsAsync()));

    /// <summary>Stops the schedules, says goodbye to every endpoint and closes the streams. Idempotent.</summary>
    protected async Task ShutdownAsync()
    {
        if (Interlocked.Exchange(ref _shutdown, 1) == 1)
        {
            return;
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        var endpoints = _routes.Values.SelectMany(r => r.Endpoints).DistinctBy(e => e.Key).ToList();
        await Task.WhenAll(endpoints.Select(NotifyTerminationAsync)).ConfigureAwait(false);
        await Task.WhenAll(_sessions.Values.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
        _sessions.Clear();
    }

    private async Task NotifyTerminationAsync(GrpcEndpoint endpoint)
    {
        try
        {
            // Awaited (the C# client fires and forgets, §9.13), bounded by the shutdown timeout.
            await Connection.Client(endpoint)
                .NotifyClientTerminationAsync(CreateTermination(), Connection.CallOptions(ClientId, Options.ShutdownTimeout, CancellationToken.None))
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or ObjectDisposedException or HttpRequestException)
        {
            // Optional (§4.7): the server forgets the client after its idle timeout anyway.
            var scrubbed = GrpcErrors.Scrub(ex);
            GrpcLog.TerminationFailed(Logger, scrubbed, Role, endpoint.Key);
        }
    }

    private async Task<TopicRoute> AddTopicAsync(string topic, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_lifetime.IsCancellationRequested, this);
        await _topicGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_routes.TryGetValue(topic, out var existing))
            {
                return existing;
            }

            var route = await QueryRouteAsync(topic, cancellationToken).ConfigureAwait(false);
            OnTopicAdding(topic);
            var isNewTopicOnKnownStreams = !_sessions.IsEmpty;
            await EnsureSessionsAsync(route, cancellationToken).ConfigureAwait(false);
            if (isNewTopicOnKnownStreams)
            {
                await ResyncAllSettingsAsync().ConfigureAwait(false);
            }

            _routes[topic] = route;
            StartLoops();
            return route;
        }
        finally
        {
            _topicGate.Release();
        }
    }

    private async Task<TopicRoute> QueryRouteAsync(string topic, CancellationToken cancellationToken)
    {
        var route = await Connection.QueryRouteAsync(ClientId, topic, cancellationToken).ConfigureAwait(false);
        if (route.Endpoints.Count == 0)
        {
            throw new ClusterTransportException(Role, GrpcErrors.Name(Code.TopicNotFound), false,
                $"QueryRoute of topic '{topic}' returned no usable queue (no master broker with an address).");
        }

        return route;
    }

    private async Task EnsureSessionsAsync(TopicRoute route, CancellationToken cancellationToken)
    {
        foreach (var endpoint in route.Endpoints)
        {
            if (_sessions.ContainsKey(endpoint.Key))
            {
                continue;
            }

            var session = new TelemetrySession(this, endpoint);
            _sessions[endpoint.Key] = session;
            try
            {
                await session.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _sessions.TryRemove(endpoint.Key, out _);
                await session.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    private void StartLoops()
    {
        if (Interlocked.Exchange(ref _loopsStarted, 1) == 1)
        {
            return;
        }

        _loops =
        [
            RunEveryAsync(Options.HeartbeatInterval, HeartbeatAllAsync),
            RunEveryAsync(Options.RouteRefreshInterval, RefreshRoutesAsync),
            RunEveryAsync(Options.SettingsSyncInterval, ResyncAllSettingsAsync),
        ];
    }

    private async Task RunEveryAsync(TimeSpan period, Func<Task> action)
    {
        using var timer = new PeriodicTimer(period, Connection.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_lifetime.Token).ConfigureAwait(false))
            {
                try
                {
                    await action().ConfigureAwait(false);
                }
                catch (Exception ex) when (!_lifetime.IsCancellationRequested)
                {
                    // A schedule must survive any single failure; the specific ones are logged where they happen.
                    GrpcLog.ScheduledTaskFailed(Logger, GrpcErrors.Scrub(ex), Role);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task HeartbeatAllAsync()
    {
        var endpoints = _routes.Values.SelectMany(r => r.Endpoints).DistinctBy(e => e.Key);
        foreach (var endpoint in endpoints)
        {
            try
            {
                await HeartbeatAsync(endpoint, _lifetime.Token).ConfigureAwait(false);
            }
            catch (ClusterTransportException ex)
            {
                GrpcLog.HeartbeatFailed(Logger, ex, Role, endpoint.Key);
            }
        }
    }

    private async Task RefreshRoutesAsync()
    {
        foreach (var topic in _routes.Keys)
        {
            try
            {
                var fresh = await QueryRouteAsync(topic, _lifetime.Token).ConfigureAwait(false);
                if (_routes.TryGetValue(topic, out var old) && old.SameAs(fresh))
                {
                    continue;
                }

                // Under the topic gate: a new topic may be opening Telemetry to the same new endpoint right now.
                await _topicGate.WaitAsync(_lifetime.Token).ConfigureAwait(false);
                try
                {
                    await EnsureSessionsAsync(fresh, _lifetime.Token).ConfigureAwait(false);
                    _routes[topic] = fresh;
                }
                finally
                {
                    _topicGate.Release();
                }

                GrpcLog.RouteChanged(Logger, Role, topic, fresh.Queues.Count);
            }
            catch (ClusterTransportException ex)
            {
                GrpcLog.RouteRefreshFailed(Logger, ex, Role, topic);
            }
        }

        await CloseUnroutedSessionsAsync().ConfigureAwait(false);
        RouteRefreshed?.Invoke();
    }

    /// <summary>Closes the Telemetry streams of endpoints no route mentions any more (a broker left the cluster).</summary>
    private async Task CloseUnroutedSessionsAsync()
    {
        await _topicGate.WaitAsync(_lifetime.Token).ConfigureAwait(false);
        try
        {
            var routed = _routes.Values.SelectMany(r => r.Endpoints).Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var (key, session) in _sessions)
            {
                if (!routed.Contains(key) && _sessions.TryRemove(key, out _))
                {
                    await session.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _topicGate.Release();
        }
    }
}
