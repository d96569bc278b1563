using DualCluster.Conformance.Idempotency;
using DualCluster.Idempotency;
using DualCluster.Stores.Tests;
using StackExchange.Redis;

namespace DualCluster.Redis.Tests;

/// <summary>Owns its redis-server (the outage test stops and starts it) and one connection for all its tests.</summary>
public sealed class RedisContractFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public ConnectionMultiplexer Multiplexer { get; private set; } = null!;

    public RedisIdempotencyStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await RedisServer.StartAsync();
        var configuration = ConfigurationOptions.Parse(Server.ConnectionString);
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ReconnectRetryPolicy = new LinearRetry(100);
        Multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        Store = new RedisIdempotencyStore(Multiplexer, new RedisIdempotencyStoreOptions { KeyPrefix = "contract-test:" });
    }

    public async Task DisposeAsync()
    {
        await Multiplexer.DisposeAsync();
        await Server.DisposeAsync();
    }
}

public sealed class RedisIdempotencyStoreContractTests(RedisContractFixture fixture) : RemoteIdempotencyStoreContract, IClassFixture<RedisContractFixture>
{
    protected override IIdempotencyStore Store => fixture.Store;

    protected override Task StopServerAsync() => fixture.Server.StopAsync();

    protected override Task StartServerAsync() => fixture.Server.StartAgainAsync();

    [Fact]
    public Task Store_outage_acks_no_message_through_the_consumer_facade_and_processing_resumes_once_it_is_back() =>
        ConsumerOutageScenario.RunAsync(Store, StopServerAsync, StartServerAsync);

    [Fact]
    public Task Handler_slower_than_two_leases_runs_once_because_the_gate_renews_its_claim() =>
        SlowHandlerScenario.RunAsync(Store);
}
