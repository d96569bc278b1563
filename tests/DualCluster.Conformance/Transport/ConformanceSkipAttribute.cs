namespace DualCluster.Conformance.Transport;

/// <summary>
/// Put (a subclass of) this on a class deriving a conformance suite to skip all of its <see cref="ConformanceFactAttribute"/>
/// tests when <see cref="Reason"/> is not null, e.g. when the live cluster it would test is not configured.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = true)]
public abstract class ConformanceSkipAttribute : Attribute
{
    /// <summary>Why the tests of the class cannot run here; null when they can. Read when the tests are discovered.</summary>
    public abstract string? Reason { get; }
}
