namespace DualCluster.RocketMQ.Testing.Grpc;

/// <summary>What the headers of an admitted call say (fact sheet §3).</summary>
internal sealed record LoopbackCall(string ClientId, string Namespace, string? Language, string? ClientVersion);
