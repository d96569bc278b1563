using DualCluster.Routing;

namespace DualCluster.Tests.Status;

/// <summary>Issue 18, finding 3: status records print their lists' items, not <c>System.Collections.Generic.List`1[…]</c>.</summary>
public sealed class StatusPrintingTests
{
    [Fact]
    public void A_node_status_prints_its_consumers_warnings_and_rejection_reasons()
    {
        var consumer = new ConsumerStatus("billing", "orders", ClusterSet.Both, ClusterSet.Both, ClusterSet.None, ConsumerPhase.Both, null, "New: connection refused");
        var status = new NodeStatus("n1", 42, ClusterRole.Old, false, ClusterSet.Both, 3, 1,
            new RejectedReload(DateTimeOffset.UnixEpoch, ["DualCluster:Producer:NewWeight=30 moves writes to New while no consumer reads New"]),
            [consumer])
        {
            Warnings = ["the in-memory idempotency store only sees this node"],
            Waits = ["topic 'orders' stays on Old: waiting for consumer group(s) 'billing' to hold a position on New"],
        };

        var text = status.ToString();

        Assert.DoesNotContain("System.Collections", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[]", text.Replace("Errors = []", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("Group = billing", text, StringComparison.Ordinal);
        Assert.Contains("LastError = New: connection refused", text, StringComparison.Ordinal);
        Assert.Contains("Warnings = [the in-memory idempotency store only sees this node]", text, StringComparison.Ordinal);
        Assert.Contains("Waits = [topic 'orders' stays on Old: waiting for consumer group(s) 'billing'", text, StringComparison.Ordinal);
        Assert.Contains("Errors = [DualCluster:Producer:NewWeight=30 moves writes", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dead_letter_prints_what_identifies_it_and_not_the_body()
    {
        var dead = new DeadLetteredMessage("billing", "orders", ClusterRole.New, "m-1", "order-42:paid", 16, "InvalidOperationException: cannot parse", DateTimeOffset.UnixEpoch);

        var text = dead.ToString();

        Assert.StartsWith("DeadLetteredMessage { Group = billing, Topic = orders, Cluster = New, MessageId = m-1, IdempotencyKey = order-42:paid, Attempts = 16", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Message = ", text, StringComparison.Ordinal);
    }
}
