using System.ComponentModel;
using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace DualCluster.Conformance.Transport;

/// <summary>
/// A conformance test of one deriving class: skipped with the reason of the class's <see cref="ConformanceSkipAttribute"/>
/// when it gives one. The reason is worked out again after de-serialization, so a runner in another process agrees.
/// </summary>
public sealed class ConformanceTestCase : XunitTestCase
{
    /// <summary>For the de-serializer only.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public ConformanceTestCase()
    {
    }

    /// <summary>Creates the test case.</summary>
    public ConformanceTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay, TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod)
    {
    }

    /// <inheritdoc />
    protected override string GetSkipReason(IAttributeInfo factAttribute)
    {
        var own = base.GetSkipReason(factAttribute);
        if (own is not null)
        {
            return own;
        }

        var type = (TestMethod.TestClass.Class as IReflectionTypeInfo)?.Type;
        return type?.GetCustomAttribute<ConformanceSkipAttribute>(inherit: true)?.Reason!;
    }
}
