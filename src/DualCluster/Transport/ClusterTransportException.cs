namespace DualCluster.Transport;

/// <summary>
/// A broker refused a request or could not be reached. Carries the cluster and the broker's status code
/// so logs and handlers can tell Old from New and a throttle from a bad request.
/// </summary>
public sealed class ClusterTransportException : DualClusterException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="cluster">The cluster that failed.</param>
    /// <param name="statusCode">The broker's status code (protocol-specific, e.g. <c>TOO_MANY_REQUESTS</c> or <c>17</c>); null for connection failures.</param>
    /// <param name="isTransient">Whether retrying the same request may succeed.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public ClusterTransportException(ClusterRole cluster, string? statusCode, bool isTransient, string message, Exception? innerException = null)
        : base($"[{cluster}] {message}" + (statusCode is null ? "" : $" (status {statusCode})"), innerException)
    {
        Cluster = cluster;
        StatusCode = statusCode;
        IsTransient = isTransient;
    }

    /// <summary>The cluster that failed.</summary>
    public ClusterRole Cluster { get; }

    /// <summary>The broker's status code, or null when the broker was not reached.</summary>
    public string? StatusCode { get; }

    /// <summary>Whether a retry of the same request may succeed (timeouts, throttling, unavailable brokers).</summary>
    public bool IsTransient { get; }

    /// <summary>
    /// Set when the cluster answered that this topic does not exist (4.x TOPIC_NOT_EXIST, 5.x TOPIC_NOT_FOUND). A name
    /// server also answers so while every broker serving the topic is down, so it does not prove the topic is empty.
    /// </summary>
    public string? MissingTopic { get; init; }
}
