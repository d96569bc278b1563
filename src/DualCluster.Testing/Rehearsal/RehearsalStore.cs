using DualCluster.Idempotency;

namespace DualCluster.Testing;

/// <summary>
/// A node's view of the fleet's shared idempotency store: unreachable while the store is down (the
/// store-outage fault) or after the node crashed (a dead process talks to nobody).
/// </summary>
internal sealed class RehearsalStore(IIdempotencyStore shared, StoreSwitch outage, Func<bool> nodeDead) : IIdempotencyStore
{
    public ValueTask<IdempotencyClaim> TryClaimAsync(string key, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ThrowIfUnreachable();
        return shared.TryClaimAsync(key, lease, cancellationToken);
    }

    public ValueTask<IdempotencyClaim> TryClaimAsync(IdempotencyClaimRequest request, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ThrowIfUnreachable();
        return shared.TryClaimAsync(request, lease, cancellationToken);
    }

    public ValueTask<bool> CompleteAsync(string key, long fencingToken, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ThrowIfUnreachable();
        return shared.CompleteAsync(key, fencingToken, retention, cancellationToken);
    }

    public ValueTask<bool> RenewAsync(string key, long fencingToken, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ThrowIfUnreachable();
        return shared.RenewAsync(key, fencingToken, lease, cancellationToken);
    }

    public ValueTask<bool> ReleaseAsync(string key, long fencingToken, CancellationToken cancellationToken = default)
    {
        ThrowIfUnreachable();
        return shared.ReleaseAsync(key, fencingToken, cancellationToken);
    }

    public ValueTask<IReadOnlyList<IdempotencyClaim>> TryClaimManyAsync(IReadOnlyList<IdempotencyClaimRequest> requests, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        ThrowIfUnreachable();
        return shared.TryClaimManyAsync(requests, lease, cancellationToken);
    }

    public ValueTask<IReadOnlyList<bool>> CompleteManyAsync(IReadOnlyList<IdempotencyCompletion> completions, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ThrowIfUnreachable();
        return shared.CompleteManyAsync(completions, retention, cancellationToken);
    }

    private void ThrowIfUnreachable()
    {
        if (nodeDead())
        {
            throw new IdempotencyStoreUnavailableException("Rehearsal: this node crashed; its process reaches no store.");
        }

        if (outage.IsDown)
        {
            throw new IdempotencyStoreUnavailableException("Rehearsal: the idempotency store is down (store-outage fault).");
        }
    }
}

/// <summary>Whether the fleet's shared store is down.</summary>
internal sealed class StoreSwitch
{
    private volatile bool _down;

    public bool IsDown => _down;

    public void Down() => _down = true;

    public void Up() => _down = false;
}
