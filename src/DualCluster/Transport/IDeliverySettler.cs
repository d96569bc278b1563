namespace DualCluster.Transport;

/// <summary>
/// The wire part of consuming: how one transport settles the deliveries that a <see cref="ConsumeDispatcher{TDelivery}"/>
/// ran through the handler. For transport authors; applications never call it.
/// </summary>
/// <typeparam name="TDelivery">The transport's own record of a fetched message (a receipt handle, a queue offset…).</typeparam>
/// <remarks>
/// A settler must not throw for a refused or failed settlement: the message then comes back by the cluster's own
/// rules (invisibility lapses, offsets stay uncommitted), which the idempotency gate absorbs. The dispatcher still
/// catches whatever escapes, so one bad settlement never stops a worker.
/// </remarks>
public interface IDeliverySettler<in TDelivery>
{
    /// <summary>The handler succeeded: acknowledge the message (5.x AckMessage; 4.x mark it done, so the offset may advance past it).</summary>
    ValueTask AckAsync(TDelivery delivery);

    /// <summary>
    /// The handler failed or asked for a retry: have the message delivered again after <paramref name="delay"/>, or after
    /// the transport's own back-off for the attempt when <paramref name="delay"/> is null.
    /// </summary>
    ValueTask RetryAsync(TDelivery delivery, TimeSpan? delay);

    /// <summary>Fetched but never handled (a graceful stop): give it back so the cluster can deliver it again at once.</summary>
    ValueTask HandBackAsync(TDelivery delivery);
}
