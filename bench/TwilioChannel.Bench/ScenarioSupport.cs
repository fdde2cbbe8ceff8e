using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace TwilioChannel.Bench;

/// <summary>What the delivery, backfill and pull scenarios share: paths, the report header, writing the report, a service's lifetime.</summary>
internal sealed class ScenarioContext
{
    public ScenarioContext(BenchOptions options, string name)
    {
        Options = options;
        Name = name;
        Root = BenchRun.RepositoryRoot();
        ResultsDir = Path.GetFullPath(options.ResultsDir ?? Path.Combine(Root ?? ".", "bench", "results"));
        WebDll = Path.GetFullPath(options.WebDll ?? Path.Combine(Root ?? ".", "src", "TwilioChannel.Web", "bin", "Release", "net10.0", "TwilioChannel.Web.dll"));
        Stamp = Started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        Directory.CreateDirectory(ResultsDir);
    }

    public BenchOptions Options { get; }
    public string Name { get; }
    public string? Root { get; }
    public string ResultsDir { get; }
    public string WebDll { get; }
    public DateTime Started { get; } = DateTime.UtcNow;
    public string Stamp { get; }
    public ServiceProcess? Service { get; set; }

    public string LogFile(string suffix) => Path.Combine(ResultsDir, $"{Name}-{Stamp}-{suffix}.log");

    public bool CheckWebDll()
    {
        if (File.Exists(WebDll)) return true;
        Console.Error.WriteLine($"{WebDll} not found: build it (dotnet build -c Release src/TwilioChannel.Web) or pass --web-dll.");
        return false;
    }

    public async Task<StringBuilder> HeaderAsync(string title, CancellationToken ct)
    {
        var git = Root is null ? null : await BenchRun.GitStateAsync(Root, ct);
        var md = new StringBuilder();
        md.AppendLine($"# {title}, {Started:yyyy-MM-dd HH:mm:ss} UTC");
        md.AppendLine();
        if (git is not null) md.AppendLine($"- Code: {git}.");
        md.AppendLine($"- Machine: {Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, "
            + $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC in the bench process (the service uses server GC too). "
            + $"Load average at the start: {LoadAverage()}.");
        return md;
    }

    public async Task<string> WriteAsync(StringBuilder md, CancellationToken ct)
    {
        var file = Path.Combine(ResultsDir, $"{Name}-{Stamp}.md");
        await File.WriteAllTextAsync(file, md.ToString(), ct);
        Console.WriteLine();
        Console.WriteLine(md.ToString());
        Console.WriteLine($"Written to {file}");
        return file;
    }

    /// <summary>Stops the service (SIGTERM), notes its log counts, deletes its data unless --keep-data.</summary>
    public async Task StopServiceAsync(ServiceProcess service, List<string> notes, string logFile, bool deleteData = true)
    {
        var (warnings, errors) = (service.LoggedWarnings, service.LoggedErrors);
        await service.DisposeAsync();
        if (ReferenceEquals(Service, service)) Service = null;
        notes.Add($"Service log ({Path.GetFileName(logFile)}, level Warning): {warnings} warn and {errors} fail/crit lines while running; "
            + $"{service.LoggedErrors - errors} fail/crit lines during shutdown (SIGTERM), exit code {service.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"}.");
        if (!deleteData) return;
        if (Options.KeepData) notes.Add($"Data kept in {service.DataPath}.");
        else service.DeleteData();
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public static string Mb(long? bytes) => bytes is { } b ? (b / (1024.0 * 1024)).ToString("N0", CultureInfo.InvariantCulture) + " MB" : "?";
}
