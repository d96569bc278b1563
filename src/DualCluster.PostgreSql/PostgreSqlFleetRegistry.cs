using DualCluster.Configuration;
using DualCluster.Fleet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace DualCluster.PostgreSql;

/// <summary>
/// The fleet registry in a PostgreSQL table (see <see cref="PostgreSqlFleetSchema"/>): one row per node holding its
/// record (<see cref="FleetMember"/> as JSON) and when it lapses, judged on the server's <c>clock_timestamp()</c>, so
/// node clocks do not matter. Each publish also deletes a few lapsed rows, so the table holds about one row per live
/// node. Thread-safe. Connection and server errors surface as <see cref="FleetRegistryUnavailableException"/>. A row
/// that is not a fleet record (written by something else) is skipped with a warning, so it does not break the read for
/// every node.
/// </summary>
public sealed class PostgreSqlFleetRegistry : IFleetRegistry
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlFleetRegistryOptions _options;
    private readonly ILogger _logger;
    private readonly string _server;
    private readonly string _create;
    private readonly string _publish;
    private readonly string _deleteLapsed;
    private readonly string _read;
    private readonly string _remove;
    private volatile bool _schemaReady;

    /// <summary>Uses <paramref name="dataSource"/> (it stays the caller's to dispose).</summary>
    /// <param name="dataSource">The database, typically the one the PostgreSQL idempotency store uses.</param>
    /// <param name="options">Schema, table and whether to create it; defaults when null.</param>
    /// <param name="logger">Told of rows skipped because they are malformed; none when null.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public PostgreSqlFleetRegistry(NpgsqlDataSource dataSource, PostgreSqlFleetRegistryOptions? options = null, ILogger<PostgreSqlFleetRegistry>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        options ??= new PostgreSqlFleetRegistryOptions();
        OptionsProblems.ThrowIfAny(options.Validate(hasDataSource: true), nameof(options));

        _dataSource = dataSource;
        _options = options;
        _logger = logger ?? NullLogger<PostgreSqlFleetRegistry>.Instance;
        _schemaReady = !options.CreateSchema;
        var connection = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        _server = $"{connection.Host}:{connection.Port}/{connection.Database}";

        var t = $"\"{options.Schema}\".\"{options.TableName}\"";
        _create = PostgreSqlFleetSchema.CreateScript(options.Schema, options.TableName);

        // $1 node id, $2 record, $3 time to live.
        _publish = $"""
            INSERT INTO {t} (node_id, record, expires_at) VALUES ($1, $2, clock_timestamp() + $3)
            ON CONFLICT (node_id) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at
            """;

        // In the publish's transaction, so SKIP LOCKED: a row another node is publishing right now is left alone, so
        // two publishers never wait on each other (nor deadlock).
        _deleteLapsed = $"""
            DELETE FROM {t} WHERE node_id IN (
                SELECT node_id FROM {t} WHERE expires_at <= clock_timestamp() LIMIT 100 FOR UPDATE SKIP LOCKED)
            AND expires_at <= clock_timestamp()
            """;
        _read = $"SELECT node_id, record FROM {t} WHERE expires_at > clock_timestamp()";
        _remove = $"DELETE FROM {t} WHERE node_id = $1";
    }

    /// <summary>The data source the registry uses.</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Creates the table when missing (idempotent; serialized across nodes by an advisory lock).</summary>
    /// <exception cref="FleetRegistryUnavailableException">The server could not be reached or refused.</exception>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await PostgreSqlSchemaCreation.RunAsync(_dataSource, $"{_options.Schema}.{_options.TableName}", _create, cancellationToken).ConfigureAwait(false);
            _schemaReady = true;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("create its table", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>One round trip: the upsert, and the deletion of up to 100 lapsed rows.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public async ValueTask PublishAsync(FleetMember member, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        var record = FleetMemberJson.Write(member);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = _dataSource.CreateBatch();
            await using var batchScope = batch.ConfigureAwait(false);
            var upsert = new NpgsqlBatchCommand(_publish);
            upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = member.NodeId });
            upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record });
            upsert.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = timeToLive, NpgsqlDbType = NpgsqlDbType.Interval });
            batch.BatchCommands.Add(upsert);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(_deleteLapsed));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable($"publish node '{member.NodeId}'", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<FleetMember>> GetLiveMembersAsync(CancellationToken cancellationToken = default)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = _dataSource.CreateCommand(_read);
            await using var commandScope = command.ConfigureAwait(false);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            var live = new List<(string NodeId, string Record)>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                live.Add((reader.GetString(0), reader.GetString(1)));
            }

            return FleetRecords.Decode(live, (nodeId, ex) => Log.MalformedFleetRecord(_logger, nodeId, ex.Message));
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("read the live members", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask RemoveAsync(string nodeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = _dataSource.CreateCommand(_remove);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = nodeId });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable($"remove node '{nodeId}'", ex);
        }
    }

    private ValueTask ReadyAsync(CancellationToken cancellationToken) =>
        _schemaReady ? ValueTask.CompletedTask : new(EnsureSchemaAsync(cancellationToken));

    private static bool IsOutage(Exception ex) => ex is NpgsqlException or TimeoutException;

    private FleetRegistryUnavailableException Unavailable(string operation, Exception inner) =>
        new($"The PostgreSQL fleet registry could not {operation} on {_server}: {inner.Message} " +
            "Routing stays as last proven until the database answers again.", inner);
}
