// dotnet new worker -n OrderService
// dotnet add package DualCluster
// dotnet add package DualCluster.RocketMQ
// (the worker SDK's implicit usings bring Microsoft.Extensions.Hosting, .DependencyInjection, .Configuration, .Logging)
using System.Text.Json;
using DualCluster;   // AddDualCluster, UseRocketMQ (from the DualCluster.RocketMQ package), IDualClusterProducer, IMessageHandler

// Loads appsettings.json and appsettings.{Environment}.json (reload on), then environment variables, then the
// command line: later sources win, so DualCluster__Clusters__New__SecretKey in the environment beats the file.
// Do not add appsettings.json again: a second AddJsonFile would put the file after the environment.
var builder = Host.CreateApplicationBuilder(args);

builder.Services.AddDualCluster(builder.Configuration.GetSection("DualCluster"))
    .UseRocketMQ()                                   // "Grpc" and "Remoting" protocols
    .AddProducer()                                   // IDualClusterProducer
    .AddConsumer<OrderPaidHandler>("order-svc", "order-paid", o =>
    {
        o.MaxConcurrency = 16;                       // handler calls at once, per cluster read
        o.MaxDeliveryAttempts = 16;                  // then the broker moves the message to %DLQ%order-svc
        o.OnDeadLetter = (dead, ct) =>               // optional: see it before it leaves (also logged and counted)
            Task.CompletedTask;                      // e.g. park dead.Message in your own store
    });

builder.Services.AddSingleton<Ledger>();
builder.Services.AddSingleton<Checkout>();
builder.Services.AddHostedService<CheckoutWorker>();

using var host = builder.Build();
await host.RunAsync();   // one hosted service starts every consumer; RunAsync returns after a graceful stop

public sealed record Order(long Id, decimal Amount);

public sealed class Checkout(IDualClusterProducer producer)
{
    public async Task PayAsync(Order order, CancellationToken ct)
    {
        var message = new OutgoingMessage("order-paid", JsonSerializer.SerializeToUtf8Bytes(order))
        {
            Tag = "paid",
            IdempotencyKey = $"order-{order.Id}:paid",   // optional: a natural key; otherwise one is stamped
        };
        var result = await producer.SendAsync(message, ct);   // completes only when a broker stored it
    }
}

public sealed class OrderPaidHandler(Ledger ledger) : IMessageHandler
{
    public Task HandleAsync(MessageContext context, CancellationToken cancellationToken) =>
        ledger.RecordPaymentAsync(context.Message.Body, cancellationToken);   // throw to have it redelivered
}

public sealed class Ledger
{
    public Task RecordPaymentAsync(ReadOnlyMemory<byte> body, CancellationToken ct) => Task.CompletedTask;
}

// Produces after the host has started, so the consumers already read (see "Start order" below).
public sealed class CheckoutWorker(Checkout checkout) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var id = 1L; !stoppingToken.IsCancellationRequested; id++)
        {
            await checkout.PayAsync(new Order(id, 9.99m), stoppingToken);
            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
        }
    }
}
