using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;
using TwilioChannel.Web.Data;
using TwilioChannel.Web.Secrets;

namespace TwilioChannel.Web.Admin;

/// <summary>
/// The one admin key: Admin:ApiKey, or a strong key generated on first start into data/admin-api-key, readable only by
/// the service's user (0600). The key is never logged; the file's path is.
/// </summary>
internal sealed class AdminKey
{
    public const string FileName = "admin-api-key";
    private readonly byte[] _keyHash;

    public AdminKey(IOptions<AdminOptions> options, DataPaths paths, ILogger<AdminKey> logger)
    {
        // Trimmed as the presented key is (AdminAuthFilter): a key set from a secret file usually ends with a newline,
        // and kept as is it matched no request, every one a 401.
        var key = options.Value.ApiKey?.Trim();
        if (string.IsNullOrWhiteSpace(key))
        {
            var file = Path.Combine(paths.Root, FileName);
            key = File.Exists(file) ? File.ReadAllText(file).Trim() : null;
            if (string.IsNullOrEmpty(key))
            {
                key = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
                WritePrivate(file, key);
                logger.LogWarning("No Admin:ApiKey configured: generated one and wrote it to {AdminKeyFile} (readable by this user only).", file);
            }
            else
            {
                logger.LogInformation("Using the admin key stored in {AdminKeyFile}.", file);
            }
        }
        _keyHash = SecretHash.Of(key);
    }

    public bool Matches(string? candidate) => SecretHash.Matches(_keyHash, candidate);

    private static void WritePrivate(string file, string key)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(file, options);
        using var writer = new StreamWriter(stream);
        writer.Write(key);
    }
}
