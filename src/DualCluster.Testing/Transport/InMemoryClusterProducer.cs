using System.Runtime.CompilerServices;
using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>Sends to an <see cref="InMemoryBroker"/>: validates first, maps broker refusals to <see cref="ClusterTransportException"/>.</summary>
internal sealed class InMemoryClusterProducer(InMemoryBroker broker, ClusterRole role, int maxBodySize) : IClusterProducer
{
    // Only a send whose response was "lost" after storing needs its id kept for the retry (IClusterProducer
    // contract: one id per message across retries); other sends pay no bookkeeping.
    private readonly ConditionalWeakTable<OutgoingMessage, string> _storedIds = [];

    public ValueTask<SendReceipt> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        try
        {
            MessageValidator.Validate(message, maxBodySize);
            cancellationToken.ThrowIfCancellationRequested();
            _storedIds.TryGetValue(message, out var messageId);
            var result = broker.Send(message, messageId);
            return new(new SendReceipt(role, result.MessageId, result.QueueId, result.QueueOffset));
        }
        catch (InMemoryBrokerException e)
        {
            if (e.StoredMessageId is { } stored)
            {
                _storedIds.AddOrUpdate(message, stored);
            }

            return ValueTask.FromException<SendReceipt>(InMemoryClusterTransport.Map(role, e, message.Topic));
        }
        catch (Exception e) when (e is ArgumentException or OperationCanceledException)
        {
            return ValueTask.FromException<SendReceipt>(e);
        }
    }
}
