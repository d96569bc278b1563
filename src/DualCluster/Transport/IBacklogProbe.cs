namespace DualCluster.Transport;

/// <summary>Reads a consumer group's outstanding work on one cluster.</summary>
public interface IBacklogProbe
{
    /// <summary>
    /// Reports what <paramref name="group"/> still has to consume from <paramref name="topic"/>. A part the
    /// transport cannot see is reported as null (unknown), never as 0.
    /// </summary>
    /// <exception cref="ClusterTransportException">The cluster could not be asked.</exception>
    ValueTask<BacklogReport> GetBacklogAsync(string group, string topic, CancellationToken cancellationToken = default);
}
