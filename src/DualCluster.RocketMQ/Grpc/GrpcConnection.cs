using System.Collections.Concurrent;
using System.Net.Security;
using System.Reflection;
using Apache.Rocketmq.V2;
using Grpc.Core;
using Grpc.Net.Client;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// The channels of one transport (one per distinct endpoint, shared by its producer and consumers) and the
/// per-call headers of fact sheet §3. Thread-safe.
/// </summary>
internal sealed class GrpcConnection : IDisposable
{
    private static readonly string ClientVersion =
        typeof(GrpcConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private readonly ConcurrentDictionary<string, (GrpcChannel Channel, MessagingService.MessagingServiceClient Client)> _channels = new(StringComparer.Ordinal);
    private readonly object _signGate = new();
    private long _signedSecond = long.MinValue;
    private string _dateTime = "";
    private string? _authorization;
    private bool _disposed;

    public GrpcConnection(GrpcTransportOptions options, TimeProvider time)
    {
        Options = options;
        Time = time;
    }

    public GrpcTransportOptions Options { get; }

    public TimeProvider Time { get; }

    public ClusterRole Role => Options.Role;

    /// <summary>The resource for a topic or group name, carrying the configured namespace.</summary>
    public Resource Resource(string name) => new() { Name = name, ResourceNamespace = Options.Namespace };

    /// <summary>The stub for <paramref name="endpoint"/>, creating its channel on first use.</summary>
    public MessagingService.MessagingServiceClient Client(GrpcEndpoint endpoint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _channels.GetOrAdd(endpoint.Key, static (_, state) =>
        {
            var channel = state.self.CreateChannel(state.endpoint);
            return (channel, new MessagingService.MessagingServiceClient(channel));
        }, (self: this, endpoint)).Client;
    }

    /// <summary>
    /// QueryRoute of <paramref name="topic"/> at the access point. A cancelled token surfaces as
    /// <see cref="OperationCanceledException"/>; a refusal as <see cref="Transport.ClusterTransportException"/>, with
    /// <see cref="Transport.ClusterTransportException.MissingTopic"/> on TOPIC_NOT_FOUND.
    /// </summary>
    public async Task<TopicRoute> QueryRouteAsync(string clientId, string topic, CancellationToken cancellationToken)
    {
        var request = new QueryRouteRequest { Topic = Resource(topic), Endpoints = Options.AccessPoint.ToProto() };
        QueryRouteResponse response;
        try
        {
            response = await Client(Options.AccessPoint)
                .QueryRouteAsync(request, CallOptions(clientId, Options.RequestTimeout, cancellationToken))
                .ConfigureAwait(false);
        }
        catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("QueryRoute cancelled.", GrpcErrors.Scrub(ex), cancellationToken);
        }
        catch (RpcException ex)
        {
            throw GrpcErrors.FromRpc(Role, ex, $"QueryRoute of topic '{topic}'", Options.AccessPoint, Options.HasCredentials);
        }

        GrpcErrors.ThrowIfNotOk(Role, response.Status, $"QueryRoute of topic '{topic}'", topic);
        return new TopicRoute(topic, response.MessageQueues, Options.AccessPoint.Tls);
    }

    /// <summary>Call options with fresh headers, a deadline of <paramref name="timeout"/> and the token.</summary>
    public CallOptions CallOptions(string clientId, TimeSpan? timeout, CancellationToken cancellationToken) =>
        new(Headers(clientId), timeout is { } t ? DateTime.UtcNow + t : null, cancellationToken);

    /// <summary>The headers of one call (§3): client id, language, version, namespace, request id, date-time, authorization.</summary>
    public Metadata Headers(string clientId)
    {
        var (dateTime, authorization) = Sign();
        var headers = new Metadata
        {
            { "x-mq-client-id", clientId },
            // §9.1: a remoting LanguageCode name, not the proto enum name.
            { "x-mq-language", "DOTNET" },
            { "x-mq-client-version", ClientVersion },
            { "x-mq-protocol", "v2" },
            { "x-mq-namespace", Options.Namespace },
            { "x-mq-request-id", Guid.NewGuid().ToString() },
            { "x-mq-date-time", dateTime },
        };
        if (authorization is not null)
        {
            headers.Add("authorization", authorization);
            if (Options.SecurityToken is { } token)
            {
                headers.Add("x-mq-session-token", token);
            }
        }

        return headers;
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var (_, entry) in _channels)
        {
            entry.Channel.Dispose();
        }

        _channels.Clear();
    }

    private (string DateTime, string? Authorization) Sign()
    {
        var now = Time.GetUtcNow();
        var second = now.ToUnixTimeSeconds();
        lock (_signGate)
        {
            // The signature covers only the second-resolution date-time: compute it once per second.
            if (second != _signedSecond)
            {
                _dateTime = RequestSignature.FormatDateTime(now);
                _authorization = Options.HasCredentials ? RequestSignature.Authorization(Options.AccessKey!, Options.SecretKey!, _dateTime) : null;
                _signedSecond = second;
            }

            return (_dateTime, _authorization);
        }
    }

    private GrpcChannel CreateChannel(GrpcEndpoint endpoint)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = Options.RequestTimeout,
        };
        if (endpoint.Tls && Options.AllowInvalidCertificates)
        {
            // Explicit per-cluster opt-out (ClusterOptions.AllowInvalidCertificates), meant for test clusters.
#pragma warning disable CA5359
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = static (_, _, _, _) => true };
#pragma warning restore CA5359
        }

        return GrpcChannel.ForAddress(endpoint.Uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            // §4.1/§9.10: a 4 MiB body plus metadata exceeds the 4 MB default.
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            MaxRetryAttempts = 0,
        });
    }
}
