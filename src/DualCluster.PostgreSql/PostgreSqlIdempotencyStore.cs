using DualCluster.Idempotency;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace DualCluster.PostgreSql;

/// <summary>
/// A fleet-wide <see cref="IIdempotencyStore"/> in a PostgreSQL table (see <see cref="PostgreSqlIdempotencySchema"/>).
/// A claim is one <c>INSERT … ON CONFLICT DO UPDATE … WHERE expired</c> statement, so taking over an expired lease is
/// atomic; fencing tokens come from a sequence, so they grow for ever. Leases, their renewals and retention run on the
/// server's clock. Expired records are deleted in bounded batches in the background. A handler can complete its claim
/// inside its own transaction (<see cref="CompleteAsync(NpgsqlTransaction, string, long, TimeSpan, CancellationToken)"/>),
/// so its database writes and the idempotency record commit or roll back together. Thread-safe. Connection and server
/// errors surface as <see cref="IdempotencyStoreUnavailableException"/>.
/// </summary>
public sealed class PostgreSqlIdempotencyStore : IIdempotencyStore, IAsyncDisposable, IDisposable
{
    private const int ClaimAttempts = 5;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgreSqlStatements _sql;
    private readonly PostgreSqlIdempotencyStoreOptions _options;
    private readonly ILogger _logger;
    private readonly ITimer? _cleanup;
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private volatile bool _schemaReady;
    private int _cleaning;
    private int _disposeState;

    /// <summary>Uses a data source the application already has (it stays the application's to dispose).</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public PostgreSqlIdempotencyStore(NpgsqlDataSource dataSource, PostgreSqlIdempotencyStoreOptions? options = null, TimeProvider? timeProvider = null, ILogger<PostgreSqlIdempotencyStore>? logger = null)
        : this(dataSource, options ?? new PostgreSqlIdempotencyStoreOptions(), ownsDataSource: false, timeProvider, logger)
    {
    }

    private PostgreSqlIdempotencyStore(NpgsqlDataSource dataSource, PostgreSqlIdempotencyStoreOptions options, bool ownsDataSource, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate(hasDataSource: true);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _options = options;
        _sql = new PostgreSqlStatements(options.Schema, options.TableName);
        _schemaReady = !options.CreateSchema;
        _logger = logger ?? NullLogger.Instance;
        if (options.CleanupInterval != Timeout.InfiniteTimeSpan)
        {
            _cleanup = (timeProvider ?? TimeProvider.System).CreateTimer(
                static s => _ = ((PostgreSqlIdempotencyStore)s!).CleanupInBackgroundAsync(), this, options.CleanupInterval, options.CleanupInterval);
        }
    }

    /// <summary>
    /// Opens a data source for <see cref="PostgreSqlIdempotencyStoreOptions.ConnectionString"/> that the store owns
    /// (disposed with it). Nothing is sent to the server until the first operation.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static PostgreSqlIdempotencyStore Create(PostgreSqlIdempotencyStoreOptions options, TimeProvider? timeProvider = null, ILogger<PostgreSqlIdempotencyStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate(hasDataSource: false);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            // The store sends the same few statements all day: let Npgsql prepare them.
            builder.ConnectionStringBuilder.MaxAutoPrepare = 8;
        }

        if (!options.SynchronousCommit)
        {
            builder.ConnectionStringBuilder.Options = $"{builder.ConnectionStringBuilder.Options} -c synchronous_commit=off".Trim();
        }

        return new PostgreSqlIdempotencyStore(builder.Build(), options, ownsDataSource: true, timeProvider, logger);
    }

    /// <summary>The data source the store uses.</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Creates the table, index and sequence when missing (idempotent; serialized across nodes by an advisory lock).</summary>
    /// <exception cref="IdempotencyStoreUnavailableException">The server could not be reached or refused.</exception>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        await _schemaLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await PostgreSqlSchemaCreation.RunAsync(_dataSource, $"{_options.Schema}.{_options.TableName}", _sql.Create, cancellationToken).ConfigureAwait(false);
            _schemaReady = true;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("create its table", ex);
        }
        finally
        {
            _schemaLock.Release();
        }
    }

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        => TryClaimAsync(new IdempotencyClaimRequest(key), lease, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.Key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var command = _dataSource.CreateCommand(_sql.Claim);
                await using var commandScope = command.ConfigureAwait(false);
                AddClaimParameters(command.Parameters, request, lease);
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return ReadClaim(reader);
                }

                if (attempt == ClaimAttempts)
                {
                    // A key claimed and released faster than we can look at it, again and again: it is busy.
                    return IdempotencyClaim.HeldElsewhere;
                }
            }
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("claim", ex);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        foreach (var request in requests)
        {
            ArgumentException.ThrowIfNullOrEmpty(request.Key, nameof(requests));
        }

        if (requests.Count == 0)
        {
            return [];
        }

        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        var claims = new IdempotencyClaim[requests.Count];
        var unanswered = new List<int>();
        try
        {
            // One round trip; the statements run in order in one implicit transaction, so a key repeated in the batch
            // is acquired once and then seen as held.
            var batch = _dataSource.CreateBatch();
            await using (batch.ConfigureAwait(false))
            {
                foreach (var request in requests)
                {
                    var command = new NpgsqlBatchCommand(_sql.Claim);
                    AddClaimParameters(command.Parameters, request, lease);
                    batch.BatchCommands.Add(command);
                }

                var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using var readerScope = reader.ConfigureAwait(false);
                for (var i = 0; i < claims.Length; i++)
                {
                    if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        claims[i] = ReadClaim(reader);
                    }
                    else
                    {
                        unanswered.Add(i);
                    }

                    await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("claim a batch", ex);
        }

        foreach (var i in unanswered)
        {
            claims[i] = await TryClaimAsync(requests[i], lease, cancellationToken).ConfigureAwait(false);
        }

        return claims;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = _dataSource.CreateCommand(_sql.Complete);
            await using var commandScope = command.ConfigureAwait(false);
            AddCompleteParameters(command.Parameters, key, fencingToken, retention);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("complete", ex);
        }
    }

    /// <summary>
    /// Completes the claim inside the caller's <paramref name="transaction"/>: the record becomes
    /// <see cref="ClaimStatus.Completed"/> only if that transaction commits, together with the handler's own writes;
    /// if it rolls back, the claim stays as it was (and is released or expires as usual). Call it last, just before
    /// committing. The transaction's connection must reach the database holding the store's table.
    /// </summary>
    /// <returns>
    /// True when the caller holds the claim. False when its token is stale or its lease lapsed: the handler must then
    /// roll back, because another node may be processing the message.
    /// </returns>
    /// <exception cref="IdempotencyStoreUnavailableException">The statement failed; the transaction is unusable and must be rolled back.</exception>
    public async Task<bool> CompleteAsync(NpgsqlTransaction transaction, string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero);
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction is already committed or rolled back.", nameof(transaction));
        try
        {
            var command = new NpgsqlCommand(_sql.Complete, connection, transaction);
            await using var commandScope = command.ConfigureAwait(false);
            AddCompleteParameters(command.Parameters, key, fencingToken, retention);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("complete inside the handler's transaction", ex);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero);
        foreach (var completion in completions)
        {
            ArgumentException.ThrowIfNullOrEmpty(completion.Key, nameof(completions));
        }

        if (completions.Count == 0)
        {
            return [];
        }

        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = _dataSource.CreateBatch();
            await using var batchScope = batch.ConfigureAwait(false);
            foreach (var completion in completions)
            {
                var command = new NpgsqlBatchCommand(_sql.Complete);
                AddCompleteParameters(command.Parameters, completion.Key, completion.FencingToken, retention);
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            var results = new bool[completions.Count];
            for (var i = 0; i < results.Length; i++)
            {
                results[i] = batch.BatchCommands[i].RecordsAffected == 1;
            }

            return results;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("complete a batch", ex);
        }
    }

    /// <inheritdoc/>
    /// <remarks>One <c>UPDATE</c>: the row then expires <paramref name="lease"/> from now on the database server's clock.</remarks>
    public async ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = _dataSource.CreateCommand(_sql.Renew);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fencingToken });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lease, NpgsqlDbType = NpgsqlDbType.Interval });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("renew", ex);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var command = _dataSource.CreateCommand(_sql.Release);
            await using var commandScope = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fencingToken });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("release", ex);
        }
    }

    /// <summary>
    /// Deletes every record whose lease or retention expired, in statements of at most
    /// <see cref="PostgreSqlIdempotencyStoreOptions.CleanupBatchSize"/> rows that skip rows a claim has locked, so
    /// claims never wait behind a long delete. Runs in the background every
    /// <see cref="PostgreSqlIdempotencyStoreOptions.CleanupInterval"/>.
    /// </summary>
    /// <returns>How many records were deleted.</returns>
    /// <exception cref="IdempotencyStoreUnavailableException">The server could not be reached.</exception>
    public async Task<long> DeleteExpiredAsync(CancellationToken cancellationToken = default)
    {
        await ReadyAsync(cancellationToken).ConfigureAwait(false);
        long total = 0;
        try
        {
            while (true)
            {
                var command = _dataSource.CreateCommand(_sql.DeleteExpired);
                await using var commandScope = command.ConfigureAwait(false);
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.CleanupBatchSize });
                var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                total += deleted;
                if (deleted < _options.CleanupBatchSize)
                {
                    return total;
                }
            }
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable("delete expired records", ex);
        }
    }

    /// <summary>Stops the background cleanup and closes the data source when the store opened it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeState, 1) == 1)
        {
            return;
        }

        if (_cleanup is not null)
        {
            await _cleanup.DisposeAsync().ConfigureAwait(false);
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        _disposed.Dispose();
        _schemaLock.Dispose();
    }

    /// <summary>Stops the background cleanup and closes the data source when the store opened it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeState, 1) == 1)
        {
            return;
        }

        _cleanup?.Dispose();
        _disposed.Cancel();
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }

        _disposed.Dispose();
        _schemaLock.Dispose();
    }

    private ValueTask ReadyAsync(CancellationToken cancellationToken) =>
        _schemaReady ? ValueTask.CompletedTask : new(EnsureSchemaAsync(cancellationToken));

    private async Task CleanupInBackgroundAsync()
    {
        if (Interlocked.Exchange(ref _cleaning, 1) == 1)
        {
            return;
        }

        try
        {
            var deleted = await DeleteExpiredAsync(_disposed.Token).ConfigureAwait(false);
            Log.DeletedExpired(_logger, deleted);
        }
        catch (Exception ex) when (ex is IdempotencyStoreUnavailableException or OperationCanceledException or ObjectDisposedException)
        {
            if (!_disposed.IsCancellationRequested)
            {
                Log.CleanupFailed(_logger, ex);
            }
        }
        finally
        {
            Volatile.Write(ref _cleaning, 0);
        }
    }

    private static void AddClaimParameters(NpgsqlParameterCollection parameters, IdempotencyClaimRequest request, TimeSpan lease)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = request.Key });
        parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lease, NpgsqlDbType = NpgsqlDbType.Interval });
        parameters.Add(request.PayloadHash.IsEmpty
            ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea }
            : new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = request.PayloadHash, NpgsqlDbType = NpgsqlDbType.Bytea });
    }

    private static void AddCompleteParameters(NpgsqlParameterCollection parameters, string key, long fencingToken, TimeSpan retention)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        parameters.Add(new NpgsqlParameter<long> { TypedValue = fencingToken });
        parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = retention, NpgsqlDbType = NpgsqlDbType.Interval });
    }

    private static IdempotencyClaim ReadClaim(NpgsqlDataReader reader)
    {
        var status = reader.GetInt32(0);
        var mismatch = reader.GetBoolean(2);
        return status switch
        {
            0 => IdempotencyClaim.Acquired(reader.GetInt64(1)),
            1 => IdempotencyClaim.Completed with { PayloadMismatch = mismatch },
            _ => IdempotencyClaim.HeldElsewhere with { PayloadMismatch = mismatch },
        };
    }

    private static bool IsOutage(Exception ex) => ex is NpgsqlException or TimeoutException;

    private static IdempotencyStoreUnavailableException Unavailable(string operation, Exception inner) =>
        new($"The PostgreSQL idempotency store could not {operation}: {inner.Message} " +
            "Nothing was acked; the message will be redelivered once the database answers again.", inner);
}
