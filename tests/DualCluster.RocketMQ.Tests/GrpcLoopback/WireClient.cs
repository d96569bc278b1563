using System.Globalization;
using System.Net.Http;
using System.Security.Cryptography;
using Apache.Rocketmq.V2;
using DualCluster.RocketMQ.Testing.Grpc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using TextEncoding = System.Text.Encoding;
using WireStatus = Apache.Rocketmq.V2.Status;

namespace DualCluster.RocketMQ.Tests.GrpcLoopback;

/// <summary>
/// A bare 5.x client for the loopback broker tests: the generated stubs over a real HTTP/2 channel, the headers of
/// fact sheet §3 (each overridable), and the call sequences of §4 spelled out step by step.
/// </summary>
internal sealed class WireClient : IDisposable
{
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    private readonly GrpcChannel _channel;
    private readonly GrpcLoopbackBroker _broker;

    public WireClient(GrpcLoopbackBroker broker, string? clientId = null)
    {
        _broker = broker;
        ClientId = clientId ?? $"testhost@{Environment.ProcessId}@{Guid.NewGuid():N}";
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (broker.Options.Tls)
        {
            var expected = broker.Certificate!.Thumbprint;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == expected;
        }

        _channel = GrpcChannel.ForAddress(broker.Endpoint, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
        Stub = new MessagingService.MessagingServiceClient(_channel);
    }

    public MessagingService.MessagingServiceClient Stub { get; }

    public string ClientId { get; }

    public string Language { get; set; } = "DOTNET";

    public string ClientVersion { get; set; } = "5.2.1";

    public string? Namespace { get; set; }

    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    public string DateTime { get; set; } = System.DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Headers to leave out of every call (to test the broker's checks).</summary>
    public HashSet<string> Omit { get; } = new(StringComparer.Ordinal);

    public static string Unique(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Creates a topic with a unique name on the loopback's in-memory broker (a 5.x proxy creates none itself).</summary>
    public static string Topic(GrpcLoopbackBroker broker, string prefix = "t", int queues = 4, GrpcLoopbackTopicType type = GrpcLoopbackTopicType.Normal)
    {
        var topic = Unique(prefix);
        broker.CreateTopic(topic, queues, type);
        return topic;
    }

    /// <summary>HMAC-SHA1 of the date-time keyed with the secret, uppercase hex (fact sheet §3.1).</summary>
#pragma warning disable CA5350 // The protocol's signature is HMAC-SHA1.
    public static string Sign(string secretKey, string dateTime) =>
        Convert.ToHexString(HMACSHA1.HashData(TextEncoding.UTF8.GetBytes(secretKey), TextEncoding.UTF8.GetBytes(dateTime)));
#pragma warning restore CA5350

    public Metadata Headers()
    {
        var headers = new Metadata();
        void Add(string key, string value)
        {
            if (!Omit.Contains(key))
            {
                headers.Add(key, value);
            }
        }

        Add("x-mq-client-id", ClientId);
        Add("x-mq-language", Language);
        Add("x-mq-client-version", ClientVersion);
        Add("x-mq-protocol", "v2");
        Add("x-mq-namespace", Namespace ?? "");
        Add("x-mq-request-id", Guid.NewGuid().ToString());
        Add("x-mq-date-time", DateTime);
        if (AccessKey is not null && SecretKey is not null)
        {
            Add("authorization", $"MQv2-HMAC-SHA1 Credential={AccessKey}, SignedHeaders=x-mq-date-time, Signature={Sign(SecretKey, DateTime)}");
        }

        return headers;
    }

    public CallOptions Call(TimeSpan? timeout = null) => new(Headers(), System.DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10)));

    public Endpoints AccessPoint() => new() { Scheme = AddressScheme.Ipv4, Addresses = { new Address { Host = "127.0.0.1", Port = _broker.Port } } };

    public Resource Resource(string name) => new() { ResourceNamespace = Namespace ?? "", Name = name };

    public async Task<QueryRouteResponse> QueryRouteAsync(string topic) =>
        await Stub.QueryRouteAsync(new QueryRouteRequest { Topic = Resource(topic), Endpoints = AccessPoint() }, Call());

    public Settings ProducerSettings(params string[] topics)
    {
        var settings = new Settings
        {
            ClientType = ClientType.Producer,
            AccessPoint = AccessPoint(),
            RequestTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(3)),
            UserAgent = new UA { Language = Apache.Rocketmq.V2.Language.DotNet, Version = ClientVersion, Platform = "test", Hostname = "testhost" },
            Publishing = new Publishing(),
        };
        settings.Publishing.Topics.AddRange(topics.Select(Resource));
        return settings;
    }

    public Settings ConsumerSettings(string group, string topic, ClientType type = ClientType.SimpleConsumer)
    {
        var settings = new Settings
        {
            ClientType = type,
            AccessPoint = AccessPoint(),
            RequestTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(3)),
            UserAgent = new UA { Language = Apache.Rocketmq.V2.Language.DotNet, Version = ClientVersion, Platform = "test", Hostname = "testhost" },
            Subscription = new Apache.Rocketmq.V2.Subscription { Group = Resource(group) },
        };
        settings.Subscription.Subscriptions.Add(new SubscriptionEntry { Topic = Resource(topic), Expression = new FilterExpression { Type = FilterType.Tag, Expression = "*" } });
        return settings;
    }

    /// <summary>Opens Telemetry, sends <paramref name="settings"/> and returns the open stream and the server's first answer.</summary>
    public async Task<(AsyncDuplexStreamingCall<TelemetryCommand, TelemetryCommand> Stream, TelemetryCommand Reply)> OpenTelemetryAsync(Settings settings)
    {
        var stream = Stub.Telemetry(new CallOptions(Headers()));
        try
        {
            await stream.RequestStream.WriteAsync(new TelemetryCommand { Settings = settings });
        }
        catch (RpcException)
        {
            // A server that refuses the call on its headers (e.g. a wrong signature) may answer and end it before the
            // settings are written; its answer is still there to read below. Any other failure shows up there too.
        }

        if (!await stream.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(SafetyTimeout))
        {
            throw new InvalidOperationException("Telemetry ended without a reply.");
        }

        return (stream, stream.ResponseStream.Current);
    }

    public async Task<SendMessageResponse> SendAsync(string topic, string body, Action<Message>? configure = null)
    {
        var message = NewMessage(topic, body);
        configure?.Invoke(message);
        return await Stub.SendMessageAsync(new SendMessageRequest { Messages = { message } }, Call());
    }

    public Message NewMessage(string topic, string body) => new()
    {
        Topic = Resource(topic),
        Body = ByteString.CopyFromUtf8(body),
        SystemProperties = new SystemProperties
        {
            MessageId = "01" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            MessageType = MessageType.Normal,
            BodyEncoding = Apache.Rocketmq.V2.Encoding.Identity,
            BornTimestamp = Timestamp.FromDateTime(System.DateTime.UtcNow),
            BornHost = "testhost",
        },
    };

    /// <summary>One ReceiveMessage call read to the end: every status, message and delivery timestamp in arrival order.</summary>
    public async Task<ReceiveResult> ReceiveAsync(
        string group,
        string topic,
        int batchSize = 32,
        TimeSpan? invisible = null,
        TimeSpan? longPolling = null,
        TimeSpan? timeout = null,
        bool autoRenew = false)
    {
        var request = new ReceiveMessageRequest
        {
            Group = Resource(group),
            MessageQueue = new MessageQueue { Topic = Resource(topic), Id = -1, Permission = Permission.ReadWrite },
            FilterExpression = new FilterExpression { Type = FilterType.Tag, Expression = "*" },
            BatchSize = batchSize,
            AutoRenew = autoRenew,
            LongPollingTimeout = Duration.FromTimeSpan(longPolling ?? TimeSpan.FromSeconds(5)),
        };
        if (!autoRenew)
        {
            request.InvisibleDuration = Duration.FromTimeSpan(invisible ?? TimeSpan.FromSeconds(30));
        }

        using var call = Stub.ReceiveMessage(request, Call(timeout ?? TimeSpan.FromSeconds(30)));
        var result = new ReceiveResult();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            result.Responses.Add(call.ResponseStream.Current);
        }

        return result;
    }

    public async Task<AckMessageResponse> AckAsync(string group, string topic, Message message, string? receiptHandle = null) =>
        await Stub.AckMessageAsync(
            new AckMessageRequest
            {
                Group = Resource(group),
                Topic = Resource(topic),
                Entries = { new AckMessageEntry { MessageId = message.SystemProperties.MessageId, ReceiptHandle = receiptHandle ?? message.SystemProperties.ReceiptHandle } },
            },
            Call());

    public void Dispose() => _channel.Dispose();

    internal sealed class ReceiveResult
    {
        public List<ReceiveMessageResponse> Responses { get; } = [];

        public WireStatus? Status => Responses.FirstOrDefault(r => r.ContentCase == ReceiveMessageResponse.ContentOneofCase.Status)?.Status;

        public List<Message> Messages => [.. Responses.Where(r => r.ContentCase == ReceiveMessageResponse.ContentOneofCase.Message).Select(r => r.Message)];
    }
}
