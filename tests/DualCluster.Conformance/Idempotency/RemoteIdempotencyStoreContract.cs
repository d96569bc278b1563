using DualCluster.Idempotency;

namespace DualCluster.Conformance.Idempotency;

/// <summary>
/// The contract of stores backed by a server: everything in <see cref="IdempotencyStoreContract"/>, plus what happens
/// when the server goes away and comes back. The derived class owns a server it may stop and start (tests of one
/// class run one after the other, so no other test sees the outage).
/// </summary>
public abstract class RemoteIdempotencyStoreContract : IdempotencyStoreContract
{
    /// <summary>Stops the server the store talks to (gracefully, so it keeps what it persisted).</summary>
    protected abstract Task StopServerAsync();

    /// <summary>Starts the server again on the same address.</summary>
    protected abstract Task StartServerAsync();

    [Fact]
    public async Task Unreachable_server_fails_calls_with_a_clear_exception_and_the_store_recovers_after_a_restart()
    {
        var done = NewKey("done");
        var claim = await Store.TryClaimAsync(done, LongTime);
        Assert.True(await Store.CompleteAsync(done, claim.FencingToken, LongTime));
        var pending = NewKey("pending");

        await StopServerAsync();
        try
        {
            var failure = await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => Store.TryClaimAsync(pending, LongTime).AsTask());
            Assert.False(string.IsNullOrWhiteSpace(failure.Message));
            await Assert.ThrowsAsync<IdempotencyStoreUnavailableException>(() => Store.CompleteAsync(done, claim.FencingToken, LongTime).AsTask());
        }
        finally
        {
            await StartServerAsync();
        }

        var recovered = await EventuallyAsync(
            async () =>
            {
                try
                {
                    return (ClaimStatus?)(await Store.TryClaimAsync(pending, LongTime)).Status;
                }
                catch (IdempotencyStoreUnavailableException)
                {
                    return null;
                }
            },
            s => s is not null,
            "the store answers again");

        Assert.Equal(ClaimStatus.Acquired, recovered);
        Assert.Equal(ClaimStatus.Completed, (await Store.TryClaimAsync(done, LongTime)).Status);
    }
}
