using System.Text;
using DualCluster;

namespace OrderService;

/// <summary>Books an order. DualCluster runs it at most once per order even when the message arrives twice.</summary>
public sealed partial class OrderCreatedHandler(OrderLedger ledger, ILogger<OrderCreatedHandler> logger) : IMessageHandler
{
    public Task HandleAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var orderId = Encoding.UTF8.GetString(context.Message.Body.Span);
        var times = ledger.Book(orderId);
        Booked(logger, orderId, context.Message.Cluster, times);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Booked {OrderId} from {Cluster} (booking #{Times})")]
    private static partial void Booked(ILogger logger, string orderId, ClusterRole cluster, int times);
}
