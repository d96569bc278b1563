using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DualCluster.Redis;

/// <summary>Validates <see cref="RedisFleetRegistryOptions"/> when the host starts, and that there is a connection to share.</summary>
internal sealed class RedisFleetRegistryOptionsValidator(IServiceProviderIsService services) : IValidateOptions<RedisFleetRegistryOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisFleetRegistryOptions options)
    {
        var problems = options.Validate().ToList();
        if (!services.IsService(typeof(RedisIdempotencyStore)) && !services.IsService(typeof(IConnectionMultiplexer)))
        {
            problems.Add(RedisDualClusterBuilderExtensions.NoConnection);
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
