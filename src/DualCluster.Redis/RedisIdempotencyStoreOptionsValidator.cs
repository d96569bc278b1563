using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DualCluster.Redis;

/// <summary>Validates <see cref="RedisIdempotencyStoreOptions"/> when the host starts.</summary>
internal sealed class RedisIdempotencyStoreOptionsValidator(IServiceProviderIsService services) : IValidateOptions<RedisIdempotencyStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisIdempotencyStoreOptions options)
    {
        var problems = options.Validate(hasMultiplexer: services.IsService(typeof(IConnectionMultiplexer)));
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
