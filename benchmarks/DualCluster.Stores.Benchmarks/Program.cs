using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/DualCluster.Stores.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(DualCluster.Stores.Benchmarks.StoreBenchmarkConfig).Assembly).Run(args, new DualCluster.Stores.Benchmarks.StoreBenchmarkConfig());
