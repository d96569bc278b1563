namespace DualCluster.Transport;

/// <summary>
/// Creates <see cref="IClusterTransport"/> instances for the clusters whose configured
/// <see cref="ClusterOptions.Protocol"/> matches <see cref="Protocol"/>.
/// Register implementations with <c>DualClusterBuilder.AddTransportFactory</c>.
/// </summary>
public interface IClusterTransportFactory
{
    /// <summary>The protocol name this factory serves, matched case-insensitively (for example <c>Grpc</c>, <c>Remoting</c>, <c>InMemory</c>).</summary>
    string Protocol { get; }

    /// <summary>Creates the transport for one cluster.</summary>
    /// <param name="role">Which cluster.</param>
    /// <param name="options">That cluster's connection settings, already validated by the core.</param>
    /// <param name="services">The host's services (logging, <see cref="TimeProvider"/>, …).</param>
    IClusterTransport Create(ClusterRole role, ClusterOptions options, IServiceProvider services);

    /// <summary>
    /// Checks the protocol-specific settings of <paramref name="options"/>; returns one message per problem
    /// (naming the configuration key and the fix), or none. Called at start and on every reload.
    /// </summary>
    IEnumerable<string> Validate(ClusterRole role, ClusterOptions options);
}
