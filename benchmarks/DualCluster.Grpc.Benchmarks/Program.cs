using BenchmarkDotNet.Running;
using DualCluster.Grpc.Benchmarks;

// dotnet run -c Release --project benchmarks/DualCluster.Grpc.Benchmarks -- --filter '*' --job short
// dotnet run -c Release --project benchmarks/DualCluster.Grpc.Benchmarks -- --latency   (p50/p99 per send)
// dotnet run -c Release --project benchmarks/DualCluster.Grpc.Benchmarks -- --consume-rate   (steady-state msg/s)
if (args.Contains("--consume-rate"))
{
    await ConsumeProbe.RunAsync();
    return;
}

if (args.Contains("--latency"))
{
    await SendLatencyProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
