using System.Text;
using DualCluster;

namespace OrderService;

/// <summary>Publishes an order every half second and reports the node's routing every few seconds.</summary>
public sealed partial class CheckoutWorker(IDualClusterProducer producer, IDualClusterStatus status, OrderLedger ledger, ILogger<CheckoutWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var orderNumber = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var orderId = $"order-{++orderNumber}";
            var message = new OutgoingMessage("order-created", Encoding.UTF8.GetBytes(orderId))
            {
                Tag = "created",
                IdempotencyKey = $"{orderId}:created", // a natural key: the same order event is one effect
            };
            var result = await producer.SendAsync(message, stoppingToken);
            Sent(logger, orderId, result.Cluster);

            if (orderNumber % 10 == 0)
            {
                var node = status.GetStatus();
                Status(logger, node.NodeId, node.Bucket, node.ProducerTarget, node.ConsumerTargets, ledger.Count, ledger.Twice, node.RejectedReloads);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sent {OrderId} to {Cluster}")]
    private static partial void Sent(ILogger logger, string orderId, ClusterRole cluster);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} (bucket {Bucket}): producer -> {Producer}, consumers read {Consumers}; {Booked} orders booked, {Twice} twice; {Rejected} reloads rejected")]
    private static partial void Status(ILogger logger, string nodeId, int bucket, ClusterRole producer, ClusterSet consumers, int booked, int twice, long rejected);
}
