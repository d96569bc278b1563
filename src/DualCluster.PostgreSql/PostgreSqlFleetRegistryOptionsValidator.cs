using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DualCluster.PostgreSql;

/// <summary>Validates <see cref="PostgreSqlFleetRegistryOptions"/> when the host starts, and that there is a data source to share.</summary>
internal sealed class PostgreSqlFleetRegistryOptionsValidator(IServiceProviderIsService services) : IValidateOptions<PostgreSqlFleetRegistryOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlFleetRegistryOptions options)
    {
        var problems = options.Validate().ToList();
        if (!services.IsService(typeof(PostgreSqlIdempotencyStore)) && !services.IsService(typeof(NpgsqlDataSource)))
        {
            problems.Add(PostgreSqlDualClusterBuilderExtensions.NoDataSource);
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
