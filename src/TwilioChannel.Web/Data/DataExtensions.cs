using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using TwilioChannel.Web.Configuration;

namespace TwilioChannel.Web.Data;

internal static class DataExtensions
{
    public const string ConnectionName = "Channel";

    public static IHostApplicationBuilder AddChannelData(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SqlitePragmas>();
        builder.Services.AddSingleton<DatabaseErrorLog>();
        // Pooled: building a DbContext (and its options) per request was ~11 % of the CPU of a reply push.
        builder.Services.AddDbContextPool<ChannelDbContext>((sp, options) =>
        {
            options.UseSqlite(ConnectionString(sp), sqlite => sqlite.MigrationsAssembly(typeof(ChannelDbContext).Assembly.FullName))
                .AddInterceptors(sp.GetRequiredService<SqlitePragmas>(), sp.GetRequiredService<DatabaseErrorLog>())
                // A unique violation we answer with 409 is no error: DatabaseErrorLog logs the others at Error instead.
                .ConfigureWarnings(w => w.Log((RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug)));
        });
        builder.Services.AddSingleton<DataPaths>();
        builder.Services.AddSingleton<WriteGate>();
        builder.Services.AddSingleton<WalDurability>();
        builder.Services.AddSingleton<GroupCommit>();
        builder.Services.AddSingleton<ReadConnections>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GroupCommit>());
        return builder;
    }

    /// <summary>ConnectionStrings:Channel, or a SQLite file in the data folder (created on first start).</summary>
    private static string ConnectionString(IServiceProvider sp)
    {
        var configured = sp.GetRequiredService<IConfiguration>().GetConnectionString(ConnectionName);
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        var file = Path.Combine(sp.GetRequiredService<DataPaths>().Root, "twilio-channel.db");
        return new SqliteConnectionStringBuilder { DataSource = file, DefaultTimeout = 30, Pooling = true }.ToString();
    }

    /// <summary>Applies pending migrations and switches SQLite to WAL (readers never block the writer).</summary>
    public static async Task MigrateDatabaseAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChannelDbContext>();
        if (db.Database.IsSqlite()) await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        await db.Database.MigrateAsync();
    }
}

/// <summary>The data folder (DataPath, relative to the content root), created on first use.</summary>
internal sealed class DataPaths
{
    public DataPaths(IOptions<ChannelOptions> options, IHostEnvironment environment)
    {
        Root = Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.DataPath));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }
}
