using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Apache.Rocketmq.V2;

namespace DualCluster.RocketMQ.Grpc;

/// <summary>
/// One gRPC address: the configured access point or a broker's endpoints from a route
/// (fact sheet §4.1: <c>host:port</c>, optional <c>http://</c>/<c>https://</c> prefix, only the first address is used).
/// </summary>
internal sealed record GrpcEndpoint(string Host, int Port, bool Tls)
{
    /// <summary>Key for channel and session maps.</summary>
    public string Key => $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The URI Grpc.Net.Client connects to (h2c prior knowledge for <c>http</c>).</summary>
    public Uri Uri => new($"{(Tls ? "https" : "http")}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The protocol form, with the address scheme the proxy needs (never UNSPECIFIED).</summary>
    public Endpoints ToProto()
    {
        var scheme = IPAddress.TryParse(Host, out var ip)
            ? ip.AddressFamily == AddressFamily.InterNetworkV6 ? AddressScheme.Ipv6 : AddressScheme.Ipv4
            : AddressScheme.DomainName;
        return new Endpoints { Scheme = scheme, Addresses = { new Address { Host = Host, Port = Port } } };
    }

    /// <summary>A broker's endpoints from a route, reached with the access point's TLS setting.</summary>
    public static GrpcEndpoint? FromProto(Endpoints? endpoints, bool tls) =>
        endpoints is { Addresses.Count: > 0 } && !string.IsNullOrEmpty(endpoints.Addresses[0].Host)
            ? new GrpcEndpoint(endpoints.Addresses[0].Host, endpoints.Addresses[0].Port, tls)
            : null;

    /// <summary>Parses a configured endpoint; the URL scheme, when present, decides TLS over <paramref name="tls"/>.</summary>
    public static bool TryParse(string? value, bool tls, out GrpcEndpoint? endpoint, out string? error)
    {
        endpoint = null;
        error = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "is empty";
            return false;
        }

        var text = value.Trim();
        if (text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            tls = true;
            text = text["https://".Length..];
        }
        else if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            tls = false;
            text = text["http://".Length..];
        }

        text = text.TrimEnd('/');
        if (text.Contains(';', StringComparison.Ordinal) || text.Contains('/', StringComparison.Ordinal))
        {
            error = $"'{value}' is not one host:port (a 5.x endpoint is a single address; name-server lists belong to the Remoting protocol)";
            return false;
        }

        string host;
        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = $"'{value}' has no port: use [ipv6]:port";
                return false;
            }

            host = text[1..close];
            portText = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon <= 0)
            {
                error = $"'{value}' has no port: use host:port exactly as shown in the console (e.g. rmq-xxx.rocketmq.example.com:8080)";
                return false;
            }

            host = text[..colon];
            portText = text[(colon + 1)..];
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"'{value}' has an invalid port '{portText}'";
            return false;
        }

        endpoint = new GrpcEndpoint(host, port, tls);
        return true;
    }
}
