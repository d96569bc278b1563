using Xunit.Abstractions;
using Xunit.Sdk;

namespace DualCluster.Conformance.Transport;

/// <summary>Discovers <see cref="ConformanceFactAttribute"/> tests as <see cref="ConformanceTestCase"/>s.</summary>
public sealed class ConformanceFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    /// <inheritdoc />
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        new ConformanceTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
}
