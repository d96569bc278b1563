namespace DualCluster.RocketMQ.Tests.RealCluster;

/// <summary>A fact that runs only when both a live 4.x (Old) and a live 5.x (New) cluster are named; skipped, with the reason, otherwise.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LiveMigrationFactAttribute : FactAttribute
{
    public LiveMigrationFactAttribute()
    {
        Skip = LiveClusterSettings.Environment.MigrationSkipReason!;
    }
}
