using DualCluster.Transport;

namespace DualCluster.Testing;

/// <summary>Wires in-memory brokers into a <see cref="DualClusterBuilder"/>.</summary>
public static class InMemoryTransportBuilderExtensions
{
    /// <summary>
    /// Uses <paramref name="old"/> for the Old cluster and <paramref name="new"/> for the New one, whatever
    /// protocols the configuration names. The brokers stay owned by the caller (the test).
    /// </summary>
    public static DualClusterBuilder UseInMemoryBrokers(this DualClusterBuilder builder, InMemoryBroker old, InMemoryBroker @new, InMemoryTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(@new);
        if (ReferenceEquals(old, @new))
        {
            throw new ArgumentException("Old and New must be two different brokers: a migration moves between two clusters.", nameof(@new));
        }

        builder.UseTransport(ClusterRole.Old, _ => new InMemoryClusterTransport(old, ClusterRole.Old, options));
        builder.UseTransport(ClusterRole.New, _ => new InMemoryClusterTransport(@new, ClusterRole.New, options));
        return builder;
    }

    /// <summary>
    /// Registers the <c>InMemory</c> protocol, so clusters configured with <c>"Protocol": "InMemory"</c> use brokers
    /// from <paramref name="registry"/> (see <see cref="InMemoryClusterTransportFactory"/>).
    /// </summary>
    public static DualClusterBuilder AddInMemoryTransport(this DualClusterBuilder builder, InMemoryBrokerRegistry registry, InMemoryTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddTransportFactory(new InMemoryClusterTransportFactory(registry, options));
    }
}
