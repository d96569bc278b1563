using System.Collections;
using System.Text;
using System.Text.RegularExpressions;
using DualCluster.RocketMQ.Grpc;
using DualCluster.RocketMQ.Testing.Grpc;
using DualCluster.Testing;
using DualCluster.Transport;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace DualCluster.RocketMQ.Tests.Grpc;

/// <summary>
/// Against a loopback answering as the Apache 5.0.0 proxy with ACL on (a refusal echoes the request headers as
/// trailers), nothing the library throws or logs carries the secret, a signature or the authorization header.
/// </summary>
public sealed partial class CredentialLeakTests
{
    private const string AccessKey = "AKleakcheck7f3";
    private const string ClientSecret = "client-secret-9d2e61";

    [Fact]
    public async Task The_5_0_0_proxy_refusal_really_echoes_the_authorization_header_as_trailers()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o => { o.AccessKey = AccessKey; o.SecretKey = "server-secret"; o.AclAsProxy500 = true; });
        using var channel = GrpcChannel.ForAddress(broker.Endpoint);
        var client = new Apache.Rocketmq.V2.MessagingService.MessagingServiceClient(channel);
        var headers = new Metadata
        {
            { "x-mq-client-id", "c1" },
            { "x-mq-date-time", "20250102T030405Z" },
            { "authorization", $"MQv2-HMAC-SHA1 Credential={AccessKey}, SignedHeaders=x-mq-date-time, Signature=00FF" },
        };

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.QueryRouteAsync(new Apache.Rocketmq.V2.QueryRouteRequest(), headers).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Equal(string.Empty, ex.Status.Detail);
        Assert.Contains(ex.Trailers, t => t.Key == "authorization" && t.Value.Contains("Signature=00FF", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_send_keeps_no_secret_signature_or_authorization_in_exceptions_or_logs()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o => { o.AccessKey = AccessKey; o.SecretKey = "server-secret"; o.AclAsProxy500 = true; });
        var logs = new LogCapture();
        var cluster = broker.ConfigureCluster(new ClusterOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        cluster.SecretKey = ClientSecret;
        cluster.Settings["TelemetryReconnectDelay"] = "00:00:00.200";
        await using var transport = new GrpcClusterTransport(GrpcTransportOptions.From(ClusterRole.New, cluster), TimeProvider.System, logs);
        var topic = GrpcWire.Topic(broker, "leak");

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(() => transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray())).AsTask());

        Assert.Equal("GRPC_PERMISSION_DENIED", ex.StatusCode);
        Assert.Empty(Leaks(Describe(ex)));
        Assert.Empty(Leaks(string.Join('\n', logs.Entries.Select(e => e.Text + (e.Exception is null ? "" : Describe(e.Exception))))));
    }

    [Fact]
    public async Task Missing_keys_against_an_acl_proxy_are_said_once_and_not_retried()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o => { o.AccessKey = AccessKey; o.SecretKey = "server-secret"; o.AclAsProxy500 = true; });
        var topic = GrpcWire.Topic(broker, "nokeys");
        await using var transport = GrpcWire.Transport(broker, configure: c => { c.AccessKey = null; c.SecretKey = null; });

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(() => transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray())).AsTask());

        Assert.Equal("GRPC_INTERNAL", ex.StatusCode);
        Assert.False(ex.IsTransient);
        Assert.Contains("DualCluster:Clusters:New:AccessKey and SecretKey", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, broker.GetCallCount(GrpcLoopbackRpc.QueryRoute));
        Assert.Equal(0, broker.GetCallCount(GrpcLoopbackRpc.SendMessage));
    }

    [Fact]
    public async Task A_refusal_without_detail_names_the_code_and_the_fix_instead_of_ending_in_nothing()
    {
        await using var broker = await GrpcWire.StartBrokerAsync(o => { o.AccessKey = AccessKey; o.SecretKey = "server-secret"; o.AclAsProxy500 = true; });
        var topic = GrpcWire.Topic(broker, "hint");
        await using var transport = GrpcWire.Transport(broker, configure: c => c.SecretKey = ClientSecret);

        var ex = await Assert.ThrowsAsync<ClusterTransportException>(() => transport.Producer.SendAsync(new OutgoingMessage(topic, "x"u8.ToArray())).AsTask());

        Assert.DoesNotContain("failed at the transport: ;", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.Message.TrimEnd().EndsWith(':'), ex.Message);
        Assert.Contains("PERMISSION_DENIED (no detail from the server)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("check AccessKey/SecretKey", ex.Message, StringComparison.Ordinal);
        Assert.Contains("grant the account PUB on the topic", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
    }

    /// <summary>Everything an application might log or serialize of an exception: ToString, inner chain, Data, trailers.</summary>
    private static string Describe(Exception exception)
    {
        var text = new StringBuilder();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            text.AppendLine(e.ToString());
            foreach (DictionaryEntry entry in e.Data)
            {
                text.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{entry.Key}={entry.Value}");
            }

            if (e is RpcException rpc)
            {
                text.AppendLine(rpc.Status.ToString());
                foreach (var trailer in rpc.Trailers)
                {
                    text.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"{trailer.Key}: {trailer.Value}");
                }

                if (rpc.Status.DebugException is { } debug)
                {
                    text.AppendLine(debug.ToString());
                }
            }
        }

        return text.ToString();
    }

    private static List<string> Leaks(string text)
    {
        var leaks = new List<string>();
        foreach (var secret in new[] { ClientSecret, "MQv2-HMAC-SHA1", "Signature=", "Credential=", "authorization:" })
        {
            if (text.Contains(secret, StringComparison.OrdinalIgnoreCase))
            {
                leaks.Add(secret);
            }
        }

        // A signature is 40 hexadecimal digits (HMAC-SHA1).
        leaks.AddRange(HexSignature().Matches(text).Select(m => m.Value));
        return leaks;
    }

    [GeneratedRegex("(?<![0-9A-Fa-f])[0-9A-Fa-f]{40}(?![0-9A-Fa-f])")]
    private static partial Regex HexSignature();
}
