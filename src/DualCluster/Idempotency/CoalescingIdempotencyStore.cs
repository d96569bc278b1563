namespace DualCluster.Idempotency;

/// <summary>
/// Turns concurrent single-key claims and completions into batch calls of a remote store
/// (<see cref="IIdempotencyStore.TryClaimManyAsync"/>, <see cref="IIdempotencyStore.CompleteManyAsync"/>), so a
/// consumer running many handlers at once pays one round trip per batch instead of one per message.
/// <para>
/// No call waits for a batch to fill: while fewer than <c>maxConcurrentCalls</c> store calls of its kind are in
/// flight, a call goes to the store at once (alone, as a single-key call). Calls arriving while that many are in
/// flight queue up and go together, in one batch call, as soon as one returns. Under light load every call is a
/// single-key call; under heavy load the batch size follows the concurrency (up to <c>maxBatchSize</c>). Claims with
/// different leases, and completions with different retentions, go in separate batches.
/// </para>
/// <para>
/// A failed batch fails every call in it (none of its keys may be assumed claimed or completed, exactly as for one
/// failed call). Cancelling a call that is already queued does not take it out of its batch; the call's own
/// token is honoured before it is queued. <see cref="IIdempotencyStore.ReleaseAsync"/> (rare: handler failures) goes
/// straight to the inner store.
/// </para>
/// </summary>
public sealed class CoalescingIdempotencyStore : IIdempotencyStore
{
    /// <summary>The default largest batch.</summary>
    public const int DefaultMaxBatchSize = 256;

    /// <summary>The default number of store calls of one kind (claims, or completions) in flight at once.</summary>
    public const int DefaultMaxConcurrentCalls = 4;

    private readonly Lane<IdempotencyClaimRequest, IdempotencyClaim> _claims;
    private readonly Lane<IdempotencyCompletion, bool> _completions;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The store that receives the batches.</param>
    /// <param name="maxBatchSize">The largest batch sent in one call (1–10,000).</param>
    /// <param name="maxConcurrentCalls">How many store calls of one kind may be in flight at once (1–1,000); calls beyond it queue and are batched.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public CoalescingIdempotencyStore(IIdempotencyStore inner, int maxBatchSize = DefaultMaxBatchSize, int maxConcurrentCalls = DefaultMaxConcurrentCalls)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxBatchSize, 10_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrentCalls, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxConcurrentCalls, 1_000);
        Inner = inner;
        _claims = new Lane<IdempotencyClaimRequest, IdempotencyClaim>(
            maxBatchSize,
            maxConcurrentCalls,
            (request, lease) => inner.TryClaimAsync(request, lease, CancellationToken.None),
            (requests, lease) => inner.TryClaimManyAsync(requests, lease, CancellationToken.None));
        _completions = new Lane<IdempotencyCompletion, bool>(
            maxBatchSize,
            maxConcurrentCalls,
            (completion, retention) => inner.CompleteAsync(completion.Key, completion.FencingToken, retention, CancellationToken.None),
            (completions, retention) => inner.CompleteManyAsync(completions, retention, CancellationToken.None));
    }

    /// <summary>The store behind the batching.</summary>
    public IIdempotencyStore Inner { get; }

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
        => TryClaimAsync(new IdempotencyClaimRequest(key), lease, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.Key);
        cancellationToken.ThrowIfCancellationRequested();
        return _claims.Enqueue(request, lease);
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
        => Inner.TryClaimManyAsync(requests, lease, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        return _completions.Enqueue(new IdempotencyCompletion(key, fencingToken), retention);
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
        => Inner.CompleteManyAsync(completions, retention, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default)
        => Inner.ReleaseAsync(key, fencingToken, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
        => Inner.RenewAsync(key, fencingToken, lease, cancellationToken);

    /// <summary>One kind of call (claims, or completions): a queue and at most <c>maxConcurrentCalls</c> store calls in flight.</summary>
    private sealed class Lane<TItem, TResult>(
        int maxBatchSize,
        int maxConcurrentCalls,
        Func<TItem, TimeSpan, ValueTask<TResult>> single,
        Func<IReadOnlyList<TItem>, TimeSpan, ValueTask<IReadOnlyList<TResult>>> many)
    {
        private readonly object _gate = new();
        private readonly List<Pending> _queue = [];
        private int _inFlight;

        public ValueTask<TResult> Enqueue(TItem item, TimeSpan span)
        {
            lock (_gate)
            {
                if (_inFlight >= maxConcurrentCalls)
                {
                    var pending = new Pending(item, span);
                    _queue.Add(pending);
                    return new ValueTask<TResult>(pending.Result.Task);
                }

                _inFlight++;
            }

            return RunFirstAsync(item, span);
        }

        /// <summary>A call that found a free slot goes alone, then hands what queued meanwhile to a flush.</summary>
        private async ValueTask<TResult> RunFirstAsync(TItem item, TimeSpan span)
        {
            try
            {
                return await single(item, span).ConfigureAwait(false);
            }
            finally
            {
                ContinueOrIdle();
            }
        }

        /// <summary>
        /// Hands this slot to the next batch, or gives it back when nothing queued. The batch is taken under the same
        /// lock as the check, so two slot holders finishing together never both flush one queue (the second would
        /// find it empty).
        /// </summary>
        private void ContinueOrIdle()
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _inFlight--;
                    return;
                }

                batch = TakeBatch();
            }

            // Queued callers wait on their own completions; flush on the pool so this caller returns now.
            _ = Task.Run(() => FlushAsync(batch));
        }

        private async Task FlushAsync(List<Pending> batch)
        {
            try
            {
                var items = new TItem[batch.Count];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = batch[i].Item;
                }

                var results = await many(items, batch[0].Span).ConfigureAwait(false);
                if (results.Count != items.Length)
                {
                    throw new InvalidOperationException($"The idempotency store answered {results.Count} results for a batch of {items.Length}.");
                }

                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Result.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                foreach (var pending in batch)
                {
                    pending.Result.TrySetException(ex);
                }
            }
            finally
            {
                ContinueOrIdle();
            }
        }

        /// <summary>Takes the oldest queued calls that share the first one's lease or retention, up to the batch size.</summary>
        private List<Pending> TakeBatch()
        {
            var span = _queue[0].Span;
            var batch = new List<Pending>(Math.Min(_queue.Count, maxBatchSize));
            var kept = 0;
            for (var i = 0; i < _queue.Count; i++)
            {
                var pending = _queue[i];
                if (batch.Count < maxBatchSize && pending.Span == span)
                {
                    batch.Add(pending);
                }
                else
                {
                    _queue[kept++] = pending;
                }
            }

            _queue.RemoveRange(kept, _queue.Count - kept);
            return batch;
        }

        private sealed class Pending(TItem item, TimeSpan span)
        {
            public TItem Item { get; } = item;

            public TimeSpan Span { get; } = span;

            public TaskCompletionSource<TResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
