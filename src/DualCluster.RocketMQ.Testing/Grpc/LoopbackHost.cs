using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>
/// Kestrel serving the loopback <c>MessagingService</c> on 127.0.0.1 over HTTP/2 only (h2c, or TLS with a
/// self-signed certificate), with gRPC message limits raised as fact sheet §6.1 asks. A plain generic host: no
/// environment variables, configuration files or logging providers are read.
/// </summary>
internal static class LoopbackHost
{
    /// <summary>The proxy's inbound gRPC message limit (§5.7).</summary>
    private const int MaxReceiveMessageSize = 130 * 1024 * 1024;

    /// <summary>Starts a host on <paramref name="port"/> (0: a free one); returns it and the port it listens on.</summary>
    public static async Task<(IHost Host, int Port)> StartAsync(
        LoopbackMessagingService service, int port, X509Certificate2? certificate, TimeSpan shutdownTimeout, CancellationToken cancellationToken)
    {
        var host = new HostBuilder()
            .ConfigureWebHost(web => web
                .UseKestrel(kestrel =>
                {
                    kestrel.AddServerHeader = false;
                    kestrel.Limits.MaxRequestBodySize = null;
                    kestrel.Limits.Http2.MaxStreamsPerConnection = 1024;
                    kestrel.Limits.Http2.InitialConnectionWindowSize = 4 * 1024 * 1024;
                    kestrel.Limits.Http2.InitialStreamWindowSize = 2 * 1024 * 1024;
                    kestrel.Listen(IPAddress.Loopback, port, listen =>
                    {
                        listen.Protocols = HttpProtocols.Http2;
                        if (certificate is not null)
                        {
                            listen.UseHttps(certificate);
                        }
                    });
                })
                .ConfigureServices(services =>
                {
                    services.AddGrpc(grpc =>
                    {
                        grpc.MaxReceiveMessageSize = MaxReceiveMessageSize;
                        grpc.MaxSendMessageSize = null;
                        grpc.EnableDetailedErrors = true;
                    });
                    services.AddSingleton(service);
                    services.Configure<HostOptions>(options => options.ShutdownTimeout = shutdownTimeout);
                })
                .Configure(app =>
                {
                    app.UseRouting();
                    app.UseEndpoints(endpoints => endpoints.MapGrpcService<LoopbackMessagingService>());
                }))
            .Build();

        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var bound = int.Parse(address[(address.LastIndexOf(':') + 1)..].TrimEnd('/'), CultureInfo.InvariantCulture);
        return (host, bound);
    }
}
