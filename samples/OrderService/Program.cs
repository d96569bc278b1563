using DualCluster;
using DualCluster.Testing;
using OrderService;

// An everyday service during a migration: weights live in appsettings.json (reloadOnChange is on by
// default for the host's appsettings files), so editing the file while the service runs re-routes it.
// The embedded in-memory brokers stand in for the two clusters here; a deployment registers the RocketMQ
// transports instead and takes its cluster settings from configuration (see appsettings.Production.example.json).
var builder = Host.CreateApplicationBuilder(args);

var dualCluster = builder.Services
    .AddDualCluster(builder.Configuration.GetSection("DualCluster"))
    .AddProducer()
    .AddConsumer<OrderCreatedHandler>("order-service", "order-created", filterExpression: "*", concurrency: 8);

var oldBroker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "old" });
var newBroker = new InMemoryBroker(new InMemoryBrokerOptions { Name = "new" });
dualCluster.UseInMemoryBrokers(oldBroker, newBroker);

builder.Services.AddSingleton<OrderLedger>();
builder.Services.AddHostedService<CheckoutWorker>();

using var host = builder.Build();
await host.RunAsync();
