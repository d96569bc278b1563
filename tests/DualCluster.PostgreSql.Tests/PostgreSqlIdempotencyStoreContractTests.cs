using DualCluster.Conformance.Idempotency;
using DualCluster.Idempotency;
using DualCluster.Stores.Tests;

namespace DualCluster.PostgreSql.Tests;

/// <summary>Owns its server (the outage test stops and starts it) and one store for all its tests.</summary>
public sealed class PostgreSqlContractFixture : IAsyncLifetime
{
    public PostgreSqlServer Server { get; private set; } = null!;

    public PostgreSqlIdempotencyStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PostgreSqlServer.StartAsync();
        Store = PostgreSqlIdempotencyStore.Create(new PostgreSqlIdempotencyStoreOptions { ConnectionString = Server.ConnectionString });
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        await Server.DisposeAsync();
    }
}

public sealed class PostgreSqlIdempotencyStoreContractTests(PostgreSqlContractFixture fixture)
    : RemoteIdempotencyStoreContract, IClassFixture<PostgreSqlContractFixture>
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
