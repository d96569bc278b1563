using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/DualCluster.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
