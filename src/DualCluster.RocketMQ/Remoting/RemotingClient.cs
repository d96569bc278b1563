using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DualCluster.RocketMQ.Remoting;

/// <summary>
/// The per-transport client instance (Java's <c>MQClientInstance</c>): one multiplexed connection per
/// address with reconnect back-off, ACL signing of every request, the route cache, and the heartbeat /
/// route-refresh loop. Dispatches broker-initiated requests (NOTIFY_CONSUMER_IDS_CHANGED) to consumers.
/// Thread-safe.
/// </summary>
internal sealed class RemotingClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConnectionSlot> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TopicRoute> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<RemotingConsumer, byte> _consumers = new();
    private readonly AclSigner? _signer;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startGate = new();
    private Task? _maintenance;
    private int _nameServerIndex;
    private int _disposed;

    public RemotingClient(ClusterRole role, RemotingSettings settings, TimeProvider? time = null, ILogger? logger = null)
    {
        Role = role;
        Settings = settings;
        Time = time ?? TimeProvider.System;
        Logger = logger ?? NullLogger.Instance;
        Namespace = new ResourceNamespace(settings.Namespace);
        var instance = settings.InstanceName ?? $"{Environment.ProcessId}#{Random.Shared.NextInt64(1, long.MaxValue)}";
        ClientId = $"{ClientAddress.Local}@{instance}";
        if (settings.HasCredentials)
        {
            _signer = new AclSigner(settings.AccessKey!, settings.SecretKey ?? string.Empty, settings.SecurityToken);
        }

        UniqueKeys = new UniqueKeyGenerator(Time);
    }

    public ClusterRole Role { get; }

    public RemotingSettings Settings { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public ResourceNamespace Namespace { get; }

    /// <summary>This client's id (<c>ip@pid#random</c>): unique per instance, stable for its life (§4.2).</summary>
    public string ClientId { get; }

    public UniqueKeyGenerator UniqueKeys { get; }

    /// <summary>Sends a signed request to <paramref name="address"/> and returns the response (any code).</summary>
    /// <exception cref="Transport.ClusterTransportException">Connection failure or timeout (transient).</exception>
    public async Task<RemotingCommand> InvokeAsync(string address, RemotingCommand request, TimeSpan? timeout, string what, CancellationToken cancellationToken)
    {
        Sign(request);
        try
        {
            var connection = await GetConnectionAsync(address, cancellationToken).ConfigureAwait(false);
            return await connection.InvokeAsync(request, timeout ?? Settings.RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException)
        {
            throw RemotingErrors.Unreachable(Role, address, what, ex);
        }
    }

    /// <summary>Sends a signed one-way request; false when the connection is not available.</summary>
    public async Task<bool> InvokeOneWayAsync(string address, RemotingCommand request, CancellationToken cancellationToken)
    {
        Sign(request);
        try
        {
            var connection = await GetConnectionAsync(address, cancellationToken).ConfigureAwait(false);
            request.Flag |= RemotingCommand.OneWayFlag;
            return connection.TrySend(request);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Asks the name servers, trying each in turn until one answers.</summary>
    public async Task<RemotingCommand> InvokeNameServerAsync(Func<RemotingCommand> request, string what, CancellationToken cancellationToken)
    {
        var servers = Settings.NameServers;
        Transport.ClusterTransportException? last = null;
        var start = Interlocked.Increment(ref _nameServerIndex);
        for (var i = 0; i < servers.Count; i++)
        {
            var address = servers[(int)((uint)(start + i) % (uint)servers.Count)];
            try
            {
                return await InvokeAsync(address, request(), null, what, cancellationToken).ConfigureAwait(false);
            }
            catch (Transport.ClusterTransportException ex) when (ex.StatusCode is null)
            {
                last = ex;
            }
        }

        throw last ?? new Transport.ClusterTransportException(Role, null, false, $"{what}: no name server configured.");
    }

    /// <summary>The route of <paramref name="wrappedTopic"/>, from the cache unless <paramref name="refresh"/>.</summary>
    /// <exception cref="Transport.ClusterTransportException">The topic does not exist (17) or no name server answered.</exception>
    public async ValueTask<TopicRoute> GetRouteAsync(string wrappedTopic, bool refresh = false, CancellationToken cancellationToken = default)
    {
        EnsureStarted();
        if (!refresh && _routes.TryGetValue(wrappedTopic, out var cached))
        {
            return cached;
        }

        var response = await InvokeNameServerAsync(
            () => RemotingCommand.CreateRequest(RequestCode.GetRouteInfoByTopic)
                .Set("topic", wrappedTopic)
                .Set("acceptStandardJsonOnly", true),
            $"Route lookup of topic '{wrappedTopic}'",
            cancellationToken).ConfigureAwait(false);
        if (response.Code != ResponseCode.Success)
        {
            if (response.Code == ResponseCode.TopicNotExist)
            {
                _routes.TryRemove(wrappedTopic, out _);
            }

            // TOPIC_NOT_EXIST is a fact the drain check reports to the operator (a missing topic, or its brokers down).
            throw RemotingErrors.FromResponse(
                Role, response, $"Route lookup of topic '{wrappedTopic}'", response.Code == ResponseCode.TopicNotExist ? Namespace.Unwrap(wrappedTopic) : null);
        }

        TopicRoute route;
        try
        {
            route = TopicRoute.Parse(wrappedTopic, response.Body.Span);
        }
        catch (InvalidDataException ex)
        {
            throw new Transport.ClusterTransportException(Role, null, false, ex.Message, ex);
        }

        _routes[wrappedTopic] = route;
        return route;
    }

    public void Register(RemotingConsumer consumer)
    {
        EnsureStarted();
        _consumers.TryAdd(consumer, 0);
    }

    public void Unregister(RemotingConsumer consumer) => _consumers.TryRemove(consumer, out _);

    /// <summary>Every broker address of every cached route.</summary>
    public IReadOnlyCollection<string> KnownBrokerAddresses() =>
        _routes.Values.SelectMany(r => r.AllAddresses()).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Sends HEART_BEAT (§2.6) to every known broker, with every registered consumer group, or only
    /// <paramref name="onlyGroup"/>'s. A broker upserts each group of the heartbeat and leaves the others alone
    /// (ClientManageProcessor.heartBeat → ConsumerManager.registerConsumer per consumer data), so a start or a
    /// rebalance need not resend every other group's data: its heartbeat does not grow with the registrations.
    /// </summary>
    /// <returns>The first broker's ACL refusal, if any broker refused (a consumer must not start as if it had registered).</returns>
    public async Task<Transport.ClusterTransportException?> SendHeartbeatAsync(CancellationToken cancellationToken, string? onlyGroup = null)
    {
        var body = BuildHeartbeat(onlyGroup);
        var tasks = new List<Task<Transport.ClusterTransportException?>>();
        foreach (var address in KnownBrokerAddresses())
        {
            tasks.Add(HeartbeatOneAsync(address, body, cancellationToken));
        }

        var refusals = await Task.WhenAll(tasks).ConfigureAwait(false);
        return refusals.FirstOrDefault(r => r is not null);
    }

    private async Task<Transport.ClusterTransportException?> HeartbeatOneAsync(string address, byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            var response = await InvokeAsync(address, RemotingCommand.CreateRequest(RequestCode.HeartBeat, body: body), null, "Heartbeat", cancellationToken).ConfigureAwait(false);
            if (response.Code != ResponseCode.Success)
            {
                var error = RemotingErrors.FromResponse(Role, response, $"Heartbeat to {address}");
                RemotingLog.HeartbeatFailed(Logger, Role, address, error);
                return RemotingErrors.IsAclRefusal(response) ? error : null;
            }
        }
        catch (Transport.ClusterTransportException ex)
        {
            RemotingLog.HeartbeatFailed(Logger, Role, address, ex);
        }

        return null;
    }

    /// <summary>
    /// The HEART_BEAT body: one <c>consumerDataSet</c> entry per group (all of the group's topics in it, as the broker
    /// replaces a group's subscriptions with each entry), for every group or only <paramref name="onlyGroup"/>.
    /// </summary>
    internal byte[] BuildHeartbeat(string? onlyGroup = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("clientID", ClientId);
            json.WriteStartArray("consumerDataSet");
            foreach (var group in _consumers.Keys
                .Where(c => onlyGroup is null || c.WrappedGroup == onlyGroup)
                .GroupBy(c => c.WrappedGroup, StringComparer.Ordinal))
            {
                RemotingConsumer.WriteConsumerData(json, [.. group]);
            }

            json.WriteEndArray();
            json.WriteStartArray("producerDataSet");
            json.WriteStartObject();
            json.WriteString("groupName", MessageConst.ClientInnerProducer);
            json.WriteEndObject();
            json.WriteStartObject();
            json.WriteString("groupName", Namespace.Wrap(Settings.ProducerGroup));
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private void Sign(RemotingCommand request) => _signer?.Sign(request);

    /// <summary>A broker that came back has lost our registration: heartbeat at once, then let consumers rebalance.</summary>
    private void OnReconnected(string address)
    {
        if (_consumers.IsEmpty || Volatile.Read(ref _disposed) != 0 || Settings.NameServers.Contains(address))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await SendHeartbeatAsync(_stopping.Token).ConfigureAwait(false);
                foreach (var consumer in _consumers.Keys)
                {
                    consumer.RequestRebalance();
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        });
    }

    private ValueTask<RemotingConnection> GetConnectionAsync(string address, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var slot = _connections.GetOrAdd(address, static a => new ConnectionSlot(a));
        return slot.GetAsync(this, cancellationToken);
    }

    private ValueTask<RemotingCommand?> OnServerRequestAsync(RemotingConnection connection, RemotingCommand request)
    {
        switch (request.Code)
        {
            case RequestCode.NotifyConsumerIdsChanged:
                var group = request.GetExt("consumerGroup");
                foreach (var consumer in _consumers.Keys)
                {
                    if (group is null || consumer.WrappedGroup == group)
                    {
                        consumer.RequestRebalance();
                    }
                }

                return ValueTask.FromResult<RemotingCommand?>(null);
            default:
                // §2.12: answer 3 to what we do not implement; nothing for one-way requests.
                return ValueTask.FromResult<RemotingCommand?>(request.IsOneWay
                    ? null
                    : RemotingCommand.CreateResponse(request, ResponseCode.RequestCodeNotSupported, $" request type {request.Code} not supported"));
        }
    }

    private void EnsureStarted()
    {
        if (_maintenance is not null)
        {
            return;
        }

        lock (_startGate)
        {
            if (_maintenance is null && Volatile.Read(ref _disposed) == 0)
            {
                RemotingLog.ClientStarted(Logger, Role, ClientId, string.Join(';', Settings.NameServers));
                _maintenance = Task.Run(() => MaintainAsync(_stopping.Token));
            }
        }
    }

    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        var period = Settings.HeartbeatInterval < Settings.RouteRefreshInterval ? Settings.HeartbeatInterval : Settings.RouteRefreshInterval;
        using var timer = new PeriodicTimer(period, Time);
        var lastRoutes = Time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Time.GetElapsedTime(lastRoutes) >= Settings.RouteRefreshInterval - TimeSpan.FromMilliseconds(50))
                {
                    lastRoutes = Time.GetTimestamp();
                    foreach (var topic in _routes.Keys)
                    {
                        try
                        {
                            await GetRouteAsync(topic, refresh: true, cancellationToken).ConfigureAwait(false);
                        }
                        catch (Transport.ClusterTransportException ex)
                        {
                            RemotingLog.RouteRefreshFailed(Logger, Role, topic, ex);
                        }
                    }
                }

                if (!_consumers.IsEmpty)
                {
                    await SendHeartbeatAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        if (_maintenance is not null)
        {
            await _maintenance.ConfigureAwait(false);
        }

        foreach (var slot in _connections.Values)
        {
            await slot.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    /// <summary>The connection to one address: reconnects lazily, backing off exponentially after failures.</summary>
    private sealed class ConnectionSlot(string address) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private RemotingConnection? _current;
        private int _failures;
        private long _retryAfter;

        public async ValueTask<RemotingConnection> GetAsync(RemotingClient owner, CancellationToken cancellationToken)
        {
            var current = Volatile.Read(ref _current);
            if (current is { IsOpen: true })
            {
                return current;
            }

            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                current = _current;
                if (current is { IsOpen: true })
                {
                    return current;
                }

                var now = owner.Time.GetTimestamp();
                if (_failures > 0 && now < _retryAfter)
                {
                    throw new IOException($"Connection to {address} failed recently; next attempt in {owner.Time.GetElapsedTime(now, _retryAfter).TotalMilliseconds:0} ms.");
                }

                try
                {
                    var connection = await RemotingConnection.ConnectAsync(address, owner.OnServerRequestAsync, owner.Settings.ConnectTimeout, cancellationToken, owner.Time).ConfigureAwait(false);
                    var reconnected = current is not null || _failures > 0;
                    _failures = 0;
                    Volatile.Write(ref _current, connection);
                    if (current is not null)
                    {
                        await current.DisposeAsync().ConfigureAwait(false);
                    }

                    if (reconnected)
                    {
                        owner.OnReconnected(address);
                    }

                    return connection;
                }
                catch (IOException ex)
                {
                    _failures++;
                    var backoff = TimeSpan.FromMilliseconds(Math.Min(owner.Settings.MaxReconnectBackoff.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(_failures, 16))));
                    _retryAfter = now + (long)(backoff.TotalSeconds * owner.Time.TimestampFrequency);
                    RemotingLog.ConnectFailed(owner.Logger, owner.Role, address, backoff, ex);
                    throw;
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _current, null) is { } connection)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
