using System.Globalization;
using System.Net;
using DualCluster.Configuration;
using DualCluster.Fleet;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace DualCluster.Redis;

/// <summary>
/// The fleet registry in Redis: one string key per node holding its record (<see cref="FleetMember"/> as JSON) with
/// the time to live as the key's TTL, so a record lapses on the Redis server's clock and node clocks do not matter;
/// plus a set of node ids to enumerate them. All keys of one registry share the hash tag <c>{KeyPrefix}</c>, so they
/// live in one hash slot and the registry works on Redis Cluster. Thread-safe. Any Redis error or timeout surfaces as
/// <see cref="FleetRegistryUnavailableException"/>. A record that is not a fleet record (written by something else) is
/// skipped with a warning, so it does not break the read for every node.
/// </summary>
public sealed class RedisFleetRegistry : IFleetRegistry
{
    // KEYS[1] node key, KEYS[2] id set; ARGV[1] record, ARGV[2] time to live ms, ARGV[3] node id.
    private const string PublishScript = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[3])
        return 1
        """;

    // KEYS[1] node key, KEYS[2] id set; ARGV[1] node id.
    private const string RemoveScript = """
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[2], ARGV[1])
        return 1
        """;

    // KEYS[1] id set, KEYS[1 + i] node key of ARGV[i]. Drops an id only while its key is still gone: a node that
    // published again since the caller found its record lapsed keeps its place in the set.
    private const string PruneScript = """
        for i, id in ipairs(ARGV) do
          if redis.call('EXISTS', KEYS[i + 1]) == 0 then redis.call('SREM', KEYS[1], id) end
        end
        return 1
        """;

    private readonly IConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly string _tag;
    private readonly RedisKey _members;
    private readonly ILogger _logger;

    /// <summary>Uses <paramref name="multiplexer"/> (it stays the caller's to dispose).</summary>
    /// <param name="multiplexer">The connection, typically the one the Redis idempotency store uses.</param>
    /// <param name="options">Key prefix and database; defaults when null.</param>
    /// <param name="logger">Told of records skipped because they are malformed; none when null.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public RedisFleetRegistry(IConnectionMultiplexer multiplexer, RedisFleetRegistryOptions? options = null, ILogger<RedisFleetRegistry>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        options ??= new RedisFleetRegistryOptions();
        OptionsProblems.ThrowIfAny(options.Validate(hasConnection: true), nameof(options));

        _multiplexer = multiplexer;
        _database = multiplexer.GetDatabase(options.Database);
        _tag = "{" + options.KeyPrefix + "}";
        _members = _tag + "nodes";
        _logger = logger ?? NullLogger<RedisFleetRegistry>.Instance;
    }

    /// <summary>The multiplexer the registry uses.</summary>
    public IConnectionMultiplexer Multiplexer => _multiplexer;

    /// <inheritdoc />
    /// <remarks>One script call: the record's key and its id in the set are written together.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is not positive.</exception>
    public async ValueTask PublishAsync(FleetMember member, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        var record = FleetMemberJson.Write(member);
        var milliseconds = Math.Max(1, (long)Math.Ceiling(timeToLive.TotalMilliseconds));
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _database.ScriptEvaluateAsync(PublishScript, [NodeKey(member.NodeId), _members], [record, milliseconds, member.NodeId])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable($"publish node '{member.NodeId}'", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two round trips (the id set, then every record in one <c>MGET</c>), and a third when some records lapsed: their
    /// ids are dropped from the set.
    /// </remarks>
    public async ValueTask<IReadOnlyList<FleetMember>> GetLiveMembersAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var ids = await _database.SetMembersAsync(_members).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (ids.Length == 0)
            {
                return [];
            }

            var keys = Array.ConvertAll(ids, id => NodeKey(id!));
            var values = await _database.StringGetAsync(keys).WaitAsync(cancellationToken).ConfigureAwait(false);
            var live = new List<(string NodeId, string Record)>(ids.Length);
            List<RedisKey>? lapsedKeys = null;
            List<RedisValue>? lapsedIds = null;
            for (var i = 0; i < ids.Length; i++)
            {
                if (values[i].IsNull)
                {
                    (lapsedKeys ??= [_members]).Add(keys[i]);
                    (lapsedIds ??= []).Add(ids[i]);
                }
                else
                {
                    live.Add((ids[i]!, values[i]!));
                }
            }

            if (lapsedIds is not null)
            {
                await _database.ScriptEvaluateAsync(PruneScript, [.. lapsedKeys!], [.. lapsedIds])
                    .WaitAsync(cancellationToken).ConfigureAwait(false);
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
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await _database.ScriptEvaluateAsync(RemoveScript, [NodeKey(nodeId), _members], [nodeId])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable($"remove node '{nodeId}'", ex);
        }
    }

    private RedisKey NodeKey(string nodeId) => _tag + "node:" + nodeId;

    private static bool IsOutage(Exception ex) => ex is RedisException or TimeoutException or ObjectDisposedException;

    private FleetRegistryUnavailableException Unavailable(string operation, Exception inner)
    {
        var servers = string.Join(", ", _multiplexer.GetEndPoints().Select(e => e is DnsEndPoint dns ? string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}") : e.ToString()));
        return new($"The Redis fleet registry could not {operation} on {servers}: {inner.Message} " +
            "Routing stays as last proven until Redis answers again.", inner);
    }
}
