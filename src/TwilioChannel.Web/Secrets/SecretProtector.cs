using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;

namespace TwilioChannel.Web.Secrets;

/// <summary>
/// Encrypts secrets at rest (Twilio auth tokens, Desk securityContexts) with ASP.NET Core Data Protection. Keys live
/// in the data folder (DataProtection:KeysPath to share them between instances).
/// </summary>
internal sealed class SecretProtector(IDataProtectionProvider provider)
{
    private readonly IDataProtector _protector = provider.CreateProtector("TwilioChannel.Secrets.v1");

    public string Protect(string secret) => _protector.Protect(secret);

    public string Unprotect(string protectedSecret) => _protector.Unprotect(protectedSecret);
}

internal static class SecretsExtensions
{
    public static IHostApplicationBuilder AddSecrets(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SecretProtector>();
        builder.Services.AddDataProtection()
            .SetApplicationName("TwilioChannel");
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<Data.DataPaths, IConfiguration>((options, paths, config) =>
            {
                var keys = config["DataProtection:KeysPath"] is { Length: > 0 } configured ? configured : Path.Combine(paths.Root, "keys");
                Directory.CreateDirectory(keys);
                options.XmlRepository = new Microsoft.AspNetCore.DataProtection.Repositories.FileSystemXmlRepository(
                    new DirectoryInfo(keys), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
            });
        return builder;
    }
}
