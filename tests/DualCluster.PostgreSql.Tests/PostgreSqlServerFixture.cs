namespace DualCluster.PostgreSql.Tests;

/// <summary>A PostgreSQL server for one test class.</summary>
public sealed class PostgreSqlServerFixture : IAsyncLifetime
{
    public PostgreSqlServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await PostgreSqlServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
