using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DualCluster.Telemetry;

/// <summary>Names of DualCluster's <see cref="Meter"/> and <see cref="ActivitySource"/>.</summary>
public static class DualClusterTelemetry
{
    /// <summary>The name of the meter and the activity source: <c>DualCluster</c>.</summary>
    public const string Name = "DualCluster";

    internal static readonly ActivitySource ActivitySource = new(Name, typeof(DualClusterTelemetry).Assembly.GetName().Version?.ToString());
}
