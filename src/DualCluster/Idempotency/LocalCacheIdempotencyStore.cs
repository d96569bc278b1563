using System.Collections.Concurrent;

namespace DualCluster.Idempotency;

/// <summary>
/// Answers <see cref="ClaimStatus.Completed"/> for recently completed keys from process memory, in front of a remote
/// store, so that a burst of duplicates (double reads, mirror writes) costs no round trip. Only completed keys are
/// cached — completion is final until retention ends, so a cached answer is never wrong while it is younger than
/// both <see cref="LocalCacheOptions.MaxAge"/> and the retention; claims, releases and completions always go to the
/// remote store. A cached key whose hash is unknown is checked remotely when a claim carries a payload hash.
/// Thread-safe; time from the given <see cref="TimeProvider"/>.
/// </summary>
public sealed class LocalCacheIdempotencyStore : IIdempotencyStore
{
    private readonly IIdempotencyStore _inner;
    private readonly ConcurrentDictionary<string, CachedCompletion> _completed = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly long _maxAgeTicks;
    private readonly TimeProvider _time;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> are invalid.</exception>
    public LocalCacheIdempotencyStore(IIdempotencyStore inner, LocalCacheOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        var problem = new LocalCacheOptions { Enabled = true, Capacity = options.Capacity, MaxAge = options.MaxAge }.Validate("LocalCache");
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _inner = inner;
        _capacity = options.Capacity;
        _maxAgeTicks = options.MaxAge.Ticks;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The store behind the cache.</summary>
    public IIdempotencyStore Inner => _inner;

    /// <summary>How many completed keys are cached now (expired ones included until replaced).</summary>
    public int Count => _completed.Count;

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        => TryClaimAsync(new IdempotencyClaimRequest(key), lease, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.Key);
        return TryFromCache(request, out var cached) ? new(cached) : ClaimRemoteAsync(request, lease, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var claims = new IdempotencyClaim[requests.Count];
        List<IdempotencyClaimRequest>? remote = null;
        List<int>? remoteIndex = null;
        for (var i = 0; i < claims.Length; i++)
        {
            if (!TryFromCache(requests[i], out claims[i]))
            {
                (remote ??= []).Add(requests[i]);
                (remoteIndex ??= []).Add(i);
            }
        }

        if (remote is null || remoteIndex is null)
        {
            return claims;
        }

        var answers = await _inner.TryClaimManyAsync(remote, lease, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < answers.Count; i++)
        {
            claims[remoteIndex[i]] = answers[i];
            Remember(remote[i], answers[i], TimeSpan.MaxValue);
        }

        return claims;
    }

    /// <inheritdoc/>
    public async ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        var done = await _inner.CompleteAsync(key, fencingToken, retention, cancellationToken).ConfigureAwait(false);
        if (done)
        {
            Add(key, null, retention);
        }

        return done;
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var results = await _inner.CompleteManyAsync(completions, retention, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < results.Count; i++)
        {
            if (results[i])
            {
                Add(completions[i].Key, null, retention);
            }
        }

        return results;
    }

    /// <inheritdoc/>
    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default)
        => _inner.ReleaseAsync(key, fencingToken, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
        => _inner.RenewAsync(key, fencingToken, lease, cancellationToken);

    private async ValueTask<IdempotencyClaim> ClaimRemoteAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken)
    {
        var claim = await _inner.TryClaimAsync(request, lease, cancellationToken).ConfigureAwait(false);
        Remember(request, claim, TimeSpan.MaxValue);
        return claim;
    }

    private bool TryFromCache(IdempotencyClaimRequest request, out IdempotencyClaim claim)
    {
        claim = default;
        if (!_completed.TryGetValue(request.Key, out var cached) || cached.ExpiresAt <= _time.GetUtcNow().UtcTicks)
        {
            return false;
        }

        if (request.PayloadHash.IsEmpty)
        {
            claim = IdempotencyClaim.Completed;
            return true;
        }

        if (cached.PayloadHash is null)
        {
            // The hash the key was claimed with is not known here: let the store compare.
            return false;
        }

        claim = IdempotencyClaim.Completed with { PayloadMismatch = !request.PayloadHash.Span.SequenceEqual(cached.PayloadHash) };
        return true;
    }

    private void Remember(IdempotencyClaimRequest request, IdempotencyClaim claim, TimeSpan retention)
    {
        if (claim.Status == ClaimStatus.Completed && !claim.PayloadMismatch)
        {
            Add(request.Key, request.PayloadHash.IsEmpty ? null : request.PayloadHash.ToArray(), retention);
        }
    }

    private void Add(string key, byte[]? payloadHash, TimeSpan retention)
    {
        if (_completed.Count >= _capacity)
        {
            // Bounded memory without bookkeeping on the hot path: start over.
            _completed.Clear();
        }

        var age = Math.Min(_maxAgeTicks, retention.Ticks);
        _completed[key] = new CachedCompletion(_time.GetUtcNow().UtcTicks + age, payloadHash);
    }

    private sealed record CachedCompletion(long ExpiresAt, byte[]? PayloadHash);
}
