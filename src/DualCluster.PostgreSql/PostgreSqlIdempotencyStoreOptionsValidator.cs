using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DualCluster.PostgreSql;

/// <summary>Validates <see cref="PostgreSqlIdempotencyStoreOptions"/> when the host starts.</summary>
internal sealed class PostgreSqlIdempotencyStoreOptionsValidator(IServiceProviderIsService services) : IValidateOptions<PostgreSqlIdempotencyStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlIdempotencyStoreOptions options)
    {
        var problems = options.Validate(hasDataSource: services.IsService(typeof(NpgsqlDataSource)));
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
