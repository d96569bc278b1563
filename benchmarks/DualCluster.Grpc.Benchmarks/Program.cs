using BenchmarkDotNet.Running;
using DualCluster.Grpc.Benchmarks;

// dotnet run -c Release --project benchmarks/DualCluster.Grpc.Benchmarks -- --filter '*' --job short
// dotnet run -c Release --project benchmarks/DualCluster.Grpc.Benchmarks -- --latency   (p50/p99 per send)
if (args.Contains("--latency"))
{
    await SendLatencyProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
