using Xunit.Sdk;

namespace DualCluster.Conformance.Transport;

/// <summary>
/// A <see cref="FactAttribute"/> for the tests of a shared conformance suite: it behaves as <c>[Fact]</c>, except that a
/// deriving class marked with a <see cref="ConformanceSkipAttribute"/> can have every inherited test reported skipped,
/// with the reason that attribute gives (xunit 2 has no run-time skip, and a derived class cannot re-attribute the
/// methods it inherits).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
[XunitTestCaseDiscoverer("DualCluster.Conformance.Transport.ConformanceFactDiscoverer", "DualCluster.Conformance")]
public sealed class ConformanceFactAttribute : FactAttribute
{
}
