using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using DualCluster.Testing;
using Microsoft.Extensions.Hosting;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// A RocketMQ 5.x proxy on a free 127.0.0.1 port: the <c>apache.rocketmq.v2.MessagingService</c> over HTTP/2 (h2c, or
/// TLS with a self-signed certificate) served by Kestrel and backed by an <see cref="InMemoryBroker"/>. It answers what
/// an Apache proxy answers (routes, Telemetry settings, send, long-polling receive, ack, invisibility changes, dead
/// letters, transactions) and enforces what it enforces (client id, Telemetry settings before Heartbeat and Receive,
/// signatures when credentials are set, long-poll bounds, message validation). Point a <c>"Protocol": "Grpc"</c>
/// cluster at it with <see cref="ConfigureCluster"/>.
/// </summary>
/// <remarks>
/// Thread-safe. Stopping and starting it again (<see cref="RestartBrokerAsync"/>) keeps the port and every stored
/// message; like a restarted proxy it forgets the clients' settings, so clients must send them again.
/// </remarks>
/// <example><code>
/// await using var grpc = await GrpcLoopbackBroker.StartAsync(new InMemoryBroker());
/// grpc.ConfigureCluster(options.Clusters.New);   // Protocol = "Grpc", Endpoint = 127.0.0.1:port, ...
/// </code></example>
public sealed class GrpcLoopbackBroker : IAsyncDisposable
{
    private readonly LoopbackMessagingService _service;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private IHost? _host;
    private bool _disposed;

    private GrpcLoopbackBroker(InMemoryBroker broker, GrpcLoopbackOptions options)
    {
        Broker = broker;
        Options = options;
        _service = new LoopbackMessagingService(broker, options);
        Certificate = options.Tls ? LoopbackCertificate.Create() : null;
    }

    /// <summary>The in-memory broker holding the messages (its own <c>Faults</c> pause storage, fail sends, lose acks; <c>AddQueues</c> grows a topic).</summary>
    public InMemoryBroker Broker { get; }

    /// <summary>The settings this broker was started with.</summary>
    public GrpcLoopbackOptions Options { get; }

    /// <summary>Wire-level fault injection (failed RPCs, outage, latency, lost acks, killed Telemetry streams).</summary>
    public GrpcLoopbackFaults Faults => _service.Faults;

    /// <summary>The TCP port on 127.0.0.1 (kept across restarts).</summary>
    public int Port { get; private set; }

    /// <summary><c>127.0.0.1:port</c>, what routes point at and what <c>ClusterOptions.Endpoint</c> takes.</summary>
    public string Address => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary><c>http://127.0.0.1:port</c> (h2c), or <c>https://…</c> with <see cref="GrpcLoopbackOptions.Tls"/>: what a gRPC channel connects to.</summary>
    public string Endpoint => (Options.Tls ? "https://" : "http://") + Address;

    /// <summary>The self-signed server certificate when <see cref="GrpcLoopbackOptions.Tls"/> is on, else null.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>Whether the HTTP server is running (false between <see cref="StopBrokerAsync"/> and <see cref="StartBrokerAsync"/>).</summary>
    public bool IsRunning => Volatile.Read(ref _host) is not null;

    internal LoopbackMessagingService Service => _service;

    /// <summary>How many Telemetry streams are open now.</summary>
    public int TelemetryStreamCount => _service.Clients.TelemetryStreamCount;

    /// <summary>Starts a loopback proxy over <paramref name="broker"/> on a free port.</summary>
    /// <param name="broker">The in-memory broker to serve.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="ArgumentException">The options are inconsistent (e.g. an access key without a secret key).</exception>
    public static async Task<GrpcLoopbackBroker> StartAsync(InMemoryBroker broker, GrpcLoopbackOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(broker);
        options ??= new GrpcLoopbackOptions();
        options.Validate();
        var loopback = new GrpcLoopbackBroker(broker, options);
        try
        {
            await loopback.StartBrokerAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await loopback.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return loopback;
    }

    /// <summary>
    /// Stops the HTTP server as a crash would: open long polls and Telemetry streams are cut, the port closes and the
    /// clients' settings are forgotten. Stored and in-flight messages stay in <see cref="Broker"/>.
    /// </summary>
    public async Task StopBrokerAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            var host = Interlocked.Exchange(ref _host, null);
            if (host is null)
            {
                return;
            }

            using var timeout = new CancellationTokenSource(Options.ShutdownTimeout);
            var stopped = host.StopAsync(timeout.Token);
            _service.OnStopping();
            try
            {
                await stopped.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Calls that outlived the shutdown timeout are cut when the host is disposed.
            }

            host.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Starts the HTTP server again on the same port (the first start picks a free port).</summary>
    /// <exception cref="ObjectDisposedException">The broker was disposed.</exception>
    public async Task StartBrokerAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_host is not null)
            {
                return;
            }

            // Routes must carry the real port; on the first start it is only known once bound, so set it before serving.
            var (host, port) = await LoopbackHost.StartAsync(_service, Port, Certificate, Options.ShutdownTimeout, cancellationToken).ConfigureAwait(false);
            Port = port;
            _service.Port = port;
            Volatile.Write(ref _host, host);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops and starts the HTTP server on the same port.</summary>
    public async Task RestartBrokerAsync(CancellationToken cancellationToken = default)
    {
        await StopBrokerAsync().ConfigureAwait(false);
        await StartBrokerAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates <paramref name="topic"/> on <see cref="Broker"/> with <paramref name="queueCount"/> queues and gives it a
    /// message type, as an operator does before clients use a topic on a 5.x cluster (the proxy creates none). Routes
    /// then advertise that type and sends of another type get MESSAGE_PROPERTY_CONFLICT_WITH_TYPE.
    /// </summary>
    /// <returns>False when the topic already existed (its type is set all the same).</returns>
    /// <exception cref="ArgumentException">The topic name is invalid.</exception>
    public bool CreateTopic(string topic, int queueCount = 4, GrpcLoopbackTopicType type = GrpcLoopbackTopicType.Normal)
    {
        var created = Broker.CreateTopic(topic, queueCount);
        _service.SetTopicType(topic, type);
        return created;
    }

    /// <summary>The client ids whose Telemetry settings the broker holds, of consumers of <paramref name="group"/> or of everyone (null).</summary>
    public IReadOnlyList<string> GetClientIds(string? group = null) => _service.Clients.ClientIds(group);

    /// <summary>How many calls of <paramref name="rpc"/> arrived since the start (including refused ones).</summary>
    public long GetCallCount(GrpcLoopbackRpc rpc) => _service.CallCount(rpc);

    /// <summary>Waits until at least <paramref name="count"/> Telemetry streams are open (e.g. after <see cref="GrpcLoopbackFaults.KillTelemetryStreams"/>, for the clients to reconnect).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public Task WaitForTelemetryStreamsAsync(int count, CancellationToken cancellationToken = default) =>
        _service.Clients.WaitAsync(() => _service.Clients.TelemetryStreamCount >= count, cancellationToken);

    /// <summary>Waits until the client ids holding settings include one consuming <paramref name="group"/> (null: any client).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public Task WaitForClientAsync(string? group = null, CancellationToken cancellationToken = default) =>
        _service.Clients.WaitAsync(() => _service.Clients.ClientIds(group).Count > 0, cancellationToken);

    /// <summary>
    /// Points a DualCluster cluster at this broker: <c>Protocol = "Grpc"</c>, <c>Endpoint</c> = <see cref="Address"/>,
    /// <c>Tls</c> (and <c>AllowInvalidCertificates</c>, the certificate being self-signed), the credentials and the namespace.
    /// </summary>
    /// <param name="cluster">The cluster section to fill (e.g. <c>options.Clusters.New</c>).</param>
    /// <returns><paramref name="cluster"/>.</returns>
    public ClusterOptions ConfigureCluster(ClusterOptions cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        cluster.Protocol = "Grpc";
        cluster.Endpoint = Address;
        cluster.NameServers = null;
        cluster.Tls = Options.Tls;
        cluster.AllowInvalidCertificates = Options.Tls;
        cluster.AccessKey = Options.AccessKey;
        cluster.SecretKey = Options.SecretKey;
        cluster.Namespace = Options.Namespace;
        return cluster;
    }

    /// <summary>
    /// The same settings as configuration keys under <paramref name="sectionPath"/> (e.g. <c>DualCluster:Clusters:New</c>),
    /// for <c>AddInMemoryCollection</c> or a JSON file written by a test.
    /// </summary>
    public IReadOnlyDictionary<string, string?> ToConfiguration(string sectionPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sectionPath);
        var cluster = ConfigureCluster(new ClusterOptions());
        return new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            [$"{sectionPath}:Protocol"] = cluster.Protocol,
            [$"{sectionPath}:Endpoint"] = cluster.Endpoint,
            [$"{sectionPath}:Tls"] = cluster.Tls ? "true" : "false",
            [$"{sectionPath}:AllowInvalidCertificates"] = cluster.AllowInvalidCertificates ? "true" : "false",
            [$"{sectionPath}:AccessKey"] = cluster.AccessKey ?? "",
            [$"{sectionPath}:SecretKey"] = cluster.SecretKey ?? "",
            [$"{sectionPath}:Namespace"] = cluster.Namespace ?? "",
        };
    }

    /// <summary>Stops the server and releases the certificate.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopBrokerAsync().ConfigureAwait(false);
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _service.Dispose();
            Certificate?.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }
}
