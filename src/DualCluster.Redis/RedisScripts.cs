namespace DualCluster.Redis;

/// <summary>
/// The server-side scripts: each runs atomically in one round trip. A record is a hash <c>{s: p|c, t: token, h: hash}</c>
/// (pending or completed) whose key TTL is the lease, then the retention, so Redis expires it by itself. The fencing
/// token is the server's clock in microseconds (<c>TIME</c>) when the key was claimed: a key can only be claimed again
/// after its record is gone, later on the same clock, so tokens for one key grow as long as the server's clock does
/// not step back. The single-key scripts touch one key and the batch scripts are only given keys of one hash slot
/// on Redis Cluster, so the store works there too.
/// </summary>
internal static class RedisScripts
{
    /// <summary>KEYS[1] key; ARGV[1] lease ms, ARGV[2] payload hash or empty. Returns {status, token, mismatch}.</summary>
    public const string Claim = """
        local cur = redis.call('HMGET', KEYS[1], 's', 'h')
        if cur[1] then
          local m = 0
          if ARGV[2] ~= '' and cur[2] and cur[2] ~= ARGV[2] then m = 1 end
          if cur[1] == 'c' then return {1, '0', m} end
          return {2, '0', m}
        end
        local now = redis.call('TIME')
        local token = now[1] .. string.format('%06d', tonumber(now[2]))
        if ARGV[2] ~= '' then
          redis.call('HSET', KEYS[1], 's', 'p', 't', token, 'h', ARGV[2])
        else
          redis.call('HSET', KEYS[1], 's', 'p', 't', token)
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return {0, token, 0}
        """;

    /// <summary>KEYS[1] key; ARGV[1] token, ARGV[2] retention ms. Returns 1 when the caller holds (or completed) the key.</summary>
    public const string Complete = """
        local cur = redis.call('HMGET', KEYS[1], 's', 't')
        if cur[2] ~= ARGV[1] then return 0 end
        if cur[1] == 'p' then
          redis.call('HSET', KEYS[1], 's', 'c')
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 1
        """;

    /// <summary>
    /// KEYS[1] key; ARGV[1] token, ARGV[2] lease ms. Returns 1 when the caller holds the pending key, whose TTL is then
    /// at least the lease from now (a renewal never shortens a lease). A lapsed lease is gone: its key expired.
    /// </summary>
    public const string Renew = """
        local cur = redis.call('HMGET', KEYS[1], 's', 't')
        if cur[1] ~= 'p' or cur[2] ~= ARGV[1] then return 0 end
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 1
        """;

    /// <summary>KEYS[1] key; ARGV[1] token. Returns 1 when the caller held the pending key (now deleted).</summary>
    public const string Release = """
        local cur = redis.call('HMGET', KEYS[1], 's', 't')
        if cur[1] ~= 'p' or cur[2] ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """;

    /// <summary>
    /// <see cref="Claim"/> for many keys in one call. KEYS: the keys; ARGV[1] lease ms, ARGV[1 + i] the payload hash of
    /// key i or empty. Returns {status, token, mismatch} for each key, flattened. Keys repeated in the batch are seen
    /// as held by their first occurrence.
    /// </summary>
    public const string ClaimMany = """
        local now = redis.call('TIME')
        local token = now[1] .. string.format('%06d', tonumber(now[2]))
        local out = {}
        for i, key in ipairs(KEYS) do
          local hash = ARGV[i + 1]
          local cur = redis.call('HMGET', key, 's', 'h')
          if cur[1] then
            local m = 0
            if hash ~= '' and cur[2] and cur[2] ~= hash then m = 1 end
            if cur[1] == 'c' then out[#out + 1] = 1 else out[#out + 1] = 2 end
            out[#out + 1] = '0'
            out[#out + 1] = m
          else
            if hash ~= '' then
              redis.call('HSET', key, 's', 'p', 't', token, 'h', hash)
            else
              redis.call('HSET', key, 's', 'p', 't', token)
            end
            redis.call('PEXPIRE', key, ARGV[1])
            out[#out + 1] = 0
            out[#out + 1] = token
            out[#out + 1] = 0
          end
        end
        return out
        """;

    /// <summary>
    /// <see cref="Complete"/> for many keys in one call. KEYS: the keys; ARGV[1] retention ms, ARGV[1 + i] the token for
    /// key i. Returns 1 or 0 for each key.
    /// </summary>
    public const string CompleteMany = """
        local out = {}
        for i, key in ipairs(KEYS) do
          local cur = redis.call('HMGET', key, 's', 't')
          if cur[2] ~= ARGV[i + 1] then
            out[i] = 0
          else
            if cur[1] == 'p' then
              redis.call('HSET', key, 's', 'c')
              redis.call('PEXPIRE', key, ARGV[1])
            end
            out[i] = 1
          end
        end
        return out
        """;
}
