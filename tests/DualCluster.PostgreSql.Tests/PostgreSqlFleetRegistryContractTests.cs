using DualCluster.Conformance.Fleet;
using DualCluster.Fleet;
using Npgsql;

namespace DualCluster.PostgreSql.Tests;

/// <summary>The fleet registry contract on a real PostgreSQL server; each test opens its own data source.</summary>
public sealed class PostgreSqlFleetRegistryContractTests : FleetRegistryContract, IClassFixture<PostgreSqlServerFixture>
{
    private const string Table = "fleet_contract";
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlFleetRegistry _registry;

    public PostgreSqlFleetRegistryContractTests(PostgreSqlServerFixture fixture)
    {
        _dataSource = Own(NpgsqlDataSource.Create(fixture.Server.ConnectionString));
        _registry = new PostgreSqlFleetRegistry(_dataSource, new PostgreSqlFleetRegistryOptions { TableName = Table });
    }

    protected override IFleetRegistry Registry => _registry;

    protected override Task<IFleetRegistry> CreateRegistryElsewhereAsync() =>
        Task.FromResult<IFleetRegistry>(new PostgreSqlFleetRegistry(_dataSource, new PostgreSqlFleetRegistryOptions { TableName = $"fleet_{Guid.NewGuid():N}" }));

    protected override Task<IFleetRegistry> CreateUnreachableRegistryAsync()
    {
        var dataSource = Own(NpgsqlDataSource.Create($"Host=127.0.0.1;Port={ClosedLoopbackPort()};Username=postgres;Database=postgres;Timeout=2;Command Timeout=2"));
        return Task.FromResult<IFleetRegistry>(new PostgreSqlFleetRegistry(dataSource));
    }

    protected override Task LapseAsync(TimeSpan duration) => Task.CompletedTask;

    protected override async Task<bool> PlantMalformedRecordAsync(string nodeId)
    {
        await _registry.EnsureSchemaAsync();
        await using var command = _dataSource.CreateCommand($"INSERT INTO \"{Table}\" (node_id, record, expires_at) VALUES ($1, '{{not a fleet record', now() + interval '10 minutes')");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = nodeId });
        await command.ExecuteNonQueryAsync();
        return true;
    }

    [Fact]
    public async Task Publishing_deletes_rows_that_lapsed()
    {
        var lapsed = Node("lapsed");
        await Registry.PublishAsync(Member(lapsed), ShortTimeToLive);
        await LiveMembersEventuallyAsync(Registry, ms => ms.All(m => m.NodeId != lapsed), "the record lapsed");

        await Registry.PublishAsync(Member(Node("next")), LongTimeToLive);

        await using var command = _dataSource.CreateCommand($"SELECT count(*) FROM \"{Table}\" WHERE node_id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = lapsed });
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Table_is_left_to_the_dba_when_schema_creation_is_off()
    {
        var table = $"fleet_{Guid.NewGuid():N}";
        var registry = new PostgreSqlFleetRegistry(_dataSource, new PostgreSqlFleetRegistryOptions { TableName = table, CreateSchema = false });

        await Assert.ThrowsAsync<FleetRegistryUnavailableException>(() => registry.GetLiveMembersAsync().AsTask());

        await using (var create = _dataSource.CreateCommand(PostgreSqlFleetSchema.CreateScript(table: table)))
        {
            await create.ExecuteNonQueryAsync();
        }

        await registry.PublishAsync(Member(Node("dba")), LongTimeToLive);
        Assert.Equal([Node("dba")], (await registry.GetLiveMembersAsync()).Select(m => m.NodeId));
    }

    [Fact]
    public void Names_that_are_not_plain_identifiers_are_rejected()
    {
        var failure = Assert.Throws<ArgumentException>(() => new PostgreSqlFleetRegistry(_dataSource, new PostgreSqlFleetRegistryOptions { TableName = "fleet\"; drop table x; --" }));

        Assert.Contains("TableName", failure.Message, StringComparison.Ordinal);
    }
}
