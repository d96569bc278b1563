using System.Threading.Channels;

namespace DualCluster.Transport;

/// <summary>
/// Runs fetched messages through a <see cref="ClusterMessageHandler"/> with bounded concurrency and passes each outcome
/// to the transport's <see cref="IDeliverySettler{TDelivery}"/>: one dispatch and one stop contract for every transport,
/// which keeps only its wire parts (fetching and settling). For transport authors; thread-safe.
/// </summary>
/// <typeparam name="TDelivery">The transport's own record of a fetched message.</typeparam>
/// <remarks>
/// <para>
/// <b>Fetching.</b> The transport's fetch loop calls <see cref="AcquireAsync"/> for room (at most the handler
/// concurrency plus the prefetch may be fetched and not yet settled), fetches up to that many, calls
/// <see cref="Dispatch"/> for each and <see cref="Release"/> for the room it did not use.
/// </para>
/// <para>
/// <b>Stop contract.</b> A graceful <see cref="StopAsync"/> stops taking work, hands back what was fetched but not
/// started, waits for the handlers in flight and settles their outcomes. When its token fires the stop turns forced:
/// the handlers' token is cancelled and no outcome that arrives after that is settled (an unknown outcome is never
/// acknowledged); the messages come back by the cluster's own rules.
/// </para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Reliability",
    "CA1001:Types that own disposable fields should be disposable",
    Justification = "A forced stop leaves handlers running with the handler token; the semaphore and token source hold no timers, so the GC reclaims them.")]
public sealed class ConsumeDispatcher<TDelivery>
{
    private readonly ClusterMessageHandler _handler;
    private readonly IDeliverySettler<TDelivery> _settler;
    private readonly Func<TDelivery, ReceivedMessage> _toMessage;
    private readonly SemaphoreSlim _room;
    private readonly Channel<TDelivery> _work = Channel.CreateUnbounded<TDelivery>(new UnboundedChannelOptions { AllowSynchronousContinuations = false });
    private readonly CancellationTokenSource _handlerStop = new();
    private Task _workers = Task.CompletedTask;
    private volatile bool _stopping;
    private int _started;

    /// <summary>Creates a dispatcher; call <see cref="Start"/> before dispatching.</summary>
    /// <param name="handler">The handler every message goes through.</param>
    /// <param name="settler">How the transport settles outcomes.</param>
    /// <param name="toMessage">Turns a delivery into the message the handler sees (called once, just before the handler).</param>
    /// <param name="maxConcurrency">Handlers running at once (at least 1).</param>
    /// <param name="prefetch">How many more messages may wait fetched ahead of the handlers (0 or more).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrency"/> is below 1 or <paramref name="prefetch"/> is negative.</exception>
    public ConsumeDispatcher(ClusterMessageHandler handler, IDeliverySettler<TDelivery> settler, Func<TDelivery, ReceivedMessage> toMessage, int maxConcurrency, int prefetch = 0)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(settler);
        ArgumentNullException.ThrowIfNull(toMessage);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        _handler = handler;
        _settler = settler;
        _toMessage = toMessage;
        MaxConcurrency = maxConcurrency;
        Capacity = maxConcurrency + prefetch;
        _room = new SemaphoreSlim(Capacity, Capacity);
    }

    /// <summary>Handlers running at once.</summary>
    public int MaxConcurrency { get; }

    /// <summary>Messages that may be fetched and not yet settled: the concurrency plus the prefetch.</summary>
    public int Capacity { get; }

    /// <summary>True once <see cref="StopAsync"/> was called: the fetch loop should stop.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Starts the handler workers (once).</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            return;
        }

        var workers = new Task[MaxConcurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(WorkAsync);
        }

        _workers = Task.WhenAll(workers);
    }

    /// <summary>Waits until there is room for at least one message and takes room for up to <paramref name="wanted"/>.</summary>
    /// <returns>How many messages the caller may fetch now (1 to <paramref name="wanted"/>).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async ValueTask<int> AcquireAsync(int wanted, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(wanted, 1);
        await _room.WaitAsync(cancellationToken).ConfigureAwait(false);
        var taken = 1;
        while (taken < wanted && _room.Wait(0, CancellationToken.None))
        {
            taken++;
        }

        return taken;
    }

    /// <summary>Gives back room taken by <see cref="AcquireAsync"/> and not used for a fetched message.</summary>
    public void Release(int unused)
    {
        if (unused > 0)
        {
            _room.Release(unused);
        }
    }

    /// <summary>
    /// Queues one fetched message (using one unit of the room taken by <see cref="AcquireAsync"/>). After a stop began it is
    /// handed back instead.
    /// </summary>
    public void Dispatch(TDelivery delivery)
    {
        if (_stopping || !_work.Writer.TryWrite(delivery))
        {
            _ = HandBackAsync(delivery).ContinueWith(static (_, room) => ((SemaphoreSlim)room!).Release(), _room, TaskScheduler.Default);
        }
    }

    /// <summary>Stops as the type's remarks say; completes once every worker has finished (graceful) or the token fired (forced).</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopping = true;
        _work.Writer.TryComplete();
        try
        {
            await _workers.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Forced: handlers still running are told to stop, and their outcomes are never settled.
            await _handlerStop.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task WorkAsync()
    {
        var reader = _work.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var delivery))
            {
                try
                {
                    if (_stopping)
                    {
                        await HandBackAsync(delivery).ConfigureAwait(false);
                    }
                    else
                    {
                        await RunAsync(delivery).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _room.Release();
                }
            }
        }
    }

    private async ValueTask RunAsync(TDelivery delivery)
    {
        var token = _handlerStop.Token;
        ConsumeOutcome outcome;
        try
        {
            var handling = _handler(_toMessage(delivery), token);
            outcome = handling.IsCompletedSuccessfully ? handling.Result : await handling.ConfigureAwait(false);
        }
        catch (Exception)
        {
            outcome = ConsumeOutcome.Retry();
        }

        if (token.IsCancellationRequested)
        {
            // A forced stop: whatever the handler says now is not known to be final.
            return;
        }

        try
        {
            if (outcome.Acknowledge)
            {
                await _settler.AckAsync(delivery).ConfigureAwait(false);
            }
            else
            {
                await _settler.RetryAsync(delivery, outcome.RetryDelay).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // The settler should not throw (see IDeliverySettler); the message comes back by the cluster's rules.
        }
    }

    private async Task HandBackAsync(TDelivery delivery)
    {
        try
        {
            await _settler.HandBackAsync(delivery).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Comes back after its invisibility, or stays uncommitted.
        }
    }
}
