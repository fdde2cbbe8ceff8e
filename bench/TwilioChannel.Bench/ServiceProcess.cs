using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace TwilioChannel.Bench;

/// <summary>
/// The real service as a child process (`dotnet TwilioChannel.Web.dll`), on 127.0.0.1, with a fresh data folder. Its
/// console output goes to a log file next to the report. Stopped with SIGTERM, killed if it doesn't exit in time.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private int _warnings;
    private int _errors;

    private ServiceProcess(Process process, StreamWriter log, string dataPath, Uri baseUrl, HttpClient admin)
    {
        _process = process;
        _log = log;
        DataPath = dataPath;
        BaseUrl = baseUrl;
        Admin = admin;
    }

    public string DataPath { get; }
    public Uri BaseUrl { get; }
    public HttpClient Admin { get; }
    public int Pid => _process.Id;
    public int? ExitCode { get; private set; }
    public int LoggedWarnings => Volatile.Read(ref _warnings);
    public int LoggedErrors => Volatile.Read(ref _errors);

    public TimeSpan CpuTime
    {
        get
        {
            try
            {
                _process.Refresh();
                return _process.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                return TimeSpan.Zero;
            }
        }
    }

    /// <summary>Starts the service on a fresh temporary data folder, or on <paramref name="dataPath"/> (an existing one, kept as it is).</summary>
    public static ServiceProcess Start(string webDll, int port, string logFile, IReadOnlyDictionary<string, string>? environment = null, string? dataPath = null)
    {
        var contentRoot = Path.GetDirectoryName(Path.GetFullPath(webDll))!;
        dataPath ??= Directory.CreateTempSubdirectory("twilio-channel-bench-").FullName;
        var baseUrl = new Uri($"http://127.0.0.1:{port}");
        var adminKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = contentRoot,
        };
        foreach (var arg in new[] { webDll, "--urls", baseUrl.GetLeftPart(UriPartial.Authority), "--contentRoot", contentRoot }) start.ArgumentList.Add(arg);
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DataPath"] = dataPath;
        start.Environment["PublicBaseUrl"] = baseUrl.GetLeftPart(UriPartial.Authority);
        start.Environment["Admin__ApiKey"] = adminKey;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;

        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var log = new StreamWriter(logFile) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the service.");
        var admin = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);

        var service = new ServiceProcess(process, log, dataPath, baseUrl, admin);
        process.OutputDataReceived += (_, e) => service.Log(e.Data);
        process.ErrorDataReceived += (_, e) => service.Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>The `dotnet` that runs this bench, or the one on PATH.</summary>
    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    /// <summary>Peak resident memory of the service so far (VmHWM in /proc/&lt;pid&gt;/status), bytes; null when unknown.</summary>
    public long? PeakRssBytes => ProcStatus("VmHWM:");

    /// <summary>Resident memory now (VmRSS), bytes; null when unknown.</summary>
    public long? RssBytes => ProcStatus("VmRSS:");

    private long? ProcStatus(string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            var kb = line?[field.Length..].Trim().Split(' ')[0];
            return kb is null ? null : long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>POST a JSON body to the admin API; throws unless 2xx; returns the answer's JSON (default when empty).</summary>
    public async Task<JsonElement> PostAdminAsync(string path, object body, CancellationToken ct)
    {
        using var response = await Admin.PostAsJsonAsync(path, body, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private void Log(string? line)
    {
        if (line is null) return;
        if (line.StartsWith("warn:", StringComparison.Ordinal)) Interlocked.Increment(ref _warnings);
        if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal)) Interlocked.Increment(ref _errors);
        lock (_logLock) _log.WriteLine(line);
    }

    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        using var probe = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The service exited with code {_process.ExitCode} before it was ready (see its log).");
            try
            {
                using var response = await probe.GetAsync("/health/ready", ct);
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                // Probe timed out; try again.
            }
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"GET /health/ready wasn't 200 within {timeout.TotalSeconds:0} s.");
            await Task.Delay(200, ct);
        }
    }

    /// <summary>The fixtures' Twilio account, a Desk installation and the WhatsApp sender, through the admin API.</summary>
    public async Task SeedAsync(CancellationToken ct)
    {
        await PostAsync("/api/admin/twilio-accounts", new { accountSid = Payloads.AccountSid, authToken = Payloads.AuthToken }, ct);
        await PostAsync("/api/admin/installations", new { orgId = Payloads.OrgId, securityContext = "x" }, ct);
        await PostAsync("/api/admin/numbers", new { address = Payloads.WhatsAppNumber, accountSid = Payloads.AccountSid, orgId = Payloads.OrgId }, ct);

        async Task PostAsync(string path, object body, CancellationToken token)
        {
            using var response = await Admin.PostAsJsonAsync(path, body, token);
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(token)}");
        }
    }

    /// <summary>Waits (bounded) until the router has taken every stored message; returns whether it got there.</summary>
    public async Task<bool> WaitRoutedAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            // 503: webhooks answered before the call are still in the inbox (the API waits 30 s for them, then says so).
            using var response = await Admin.GetAsync("/api/admin/messages?state=received&limit=1", ct);
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
            {
                response.EnsureSuccessStatusCode();
                var page = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                if (page.GetArrayLength() == 0) return true;
            }
            if (Stopwatch.GetTimestamp() > deadline) return false;
            await Task.Delay(500, ct);
        }
    }

    /// <summary>Every stored message's SID, paging GET /api/admin/messages?after=&lt;lastId&gt;&amp;limit=1000.</summary>
    public async Task<List<string>> StoredSidsAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        var sids = new List<string>();
        long after = 0;
        while (true)
        {
            using var response = await Admin.GetAsync($"/api/admin/messages?after={after}&limit=1000", deadline.Token);
            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable) continue; // still in the inbox: ask again
            response.EnsureSuccessStatusCode();
            var page = await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token);
            var count = page.GetArrayLength();
            foreach (var message in page.EnumerateArray()) sids.Add(message.GetProperty("messageSid").GetString()!);
            if (count == 0) break;
            var last = page[count - 1].GetProperty("id").GetInt64();
            if (last <= after) throw new InvalidOperationException("Paging by id didn't advance.");
            after = last;
            if (count < 1000) break;
        }
        return sids;
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                // SIGTERM: a graceful shutdown, as systemd or Kubernetes would ask.
                if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) _ = Kill(_process.Id, 15);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await _process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
        try
        {
            // WaitForExit() without a timeout also drains the redirected output, so the log and its counts are complete.
            _process.WaitForExit();
            ExitCode = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        _process.Dispose();
        lock (_logLock) _log.Dispose();
    }

    /// <summary>Last resort (watchdog, process exit): no waiting.</summary>
    public void KillNow()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public void DeleteData()
    {
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it's under the temp folder.
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
