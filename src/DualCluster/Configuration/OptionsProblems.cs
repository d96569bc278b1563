using Microsoft.Extensions.Options;

namespace DualCluster.Configuration;

/// <summary>
/// Options classes of the store packages report their problems as a list of messages that name the key and the fix;
/// these turn such a list into an <see cref="ArgumentException"/> (constructors) or a validation result (host start).
/// </summary>
internal static class OptionsProblems
{
    /// <exception cref="ArgumentException">There are problems; the message holds them all.</exception>
    public static void ThrowIfAny(IReadOnlyList<string> problems, string? paramName = null)
    {
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), paramName);
        }
    }
}

/// <summary>Validates <typeparamref name="TOptions"/> at host start with a function listing its problems.</summary>
internal sealed class OptionsProblemsValidator<TOptions>(Func<TOptions, IReadOnlyList<string>> problems) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var found = problems(options);
        return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
    }
}
