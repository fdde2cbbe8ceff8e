using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TwilioChannel.Bench;

// Reports and console output use '.' decimals and ',' thousands whatever the machine's locale.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// A baseline server hosted for a run with --baseline-process (BaselineProcess.cs).
if (await BaselineProcess.TryServeAsync(args)) return 0;

var options = BenchOptions.Parse(args);
if (options is null) return args.Contains("--help") || args.Contains("-h") ? 0 : 2;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    Console.Error.WriteLine("Interrupted: stopping.");
    cts.Cancel();
};

IBenchRun runner = options.Scenario switch
{
    BenchOptions.RepliesScenario => new RepliesRun(options),
    BenchOptions.DeliveryScenario => new DeliveryRun(options),
    BenchOptions.BackfillScenario => new BackfillRun(options),
    BenchOptions.PullScenario => new PullRun(options),
    _ => new BenchRun(options),
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => runner.KillService();
// The watchdog: whatever hangs, the run ends (and takes the service down with it).
using var watchdog = new Timer(_ =>
{
    Console.Error.WriteLine($"Watchdog: the run exceeded {options.Budget.TotalSeconds:0} s; aborting.");
    runner.KillService();
    Environment.Exit(3);
}, null, options.Budget, Timeout.InfiniteTimeSpan);

try
{
    return await runner.RunAsync(cts.Token);
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    return 130;
}

namespace TwilioChannel.Bench
{
    internal sealed class ServerRun(string name)
    {
        public string Name { get; } = name;
        /// <summary>The peak of <see cref="Sweep"/>: this server's throughput at saturation.</summary>
        public SaturationResult? Saturation => Sweep.MaxBy(s => s.RequestsPerSecond);
        public List<SaturationResult> Sweep { get; } = [];
        public FixedRateResult? FixedRate { get; set; }
        public List<string> Notes { get; } = [];
        public bool Failed { get; set; }
    }

    internal sealed class BenchRun(BenchOptions options) : IBenchRun
    {
        private readonly SidSource _sids = new();
        private readonly DateTime _started = DateTime.UtcNow;
        private ServiceProcess? _service;

        public void KillService() => _service?.KillNow();

        public async Task<int> RunAsync(CancellationToken ct)
        {
            var root = RepositoryRoot();
            var resultsDir = Path.GetFullPath(options.ResultsDir ?? Path.Combine(root ?? ".", "bench", "results"));
            var webDll = Path.GetFullPath(options.WebDll ?? Path.Combine(root ?? ".", "src", "TwilioChannel.Web", "bin", "Release", "net10.0", "TwilioChannel.Web.dll"));
            var stamp = _started.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
            Directory.CreateDirectory(resultsDir);

            Console.WriteLine($"Webhook bench: {Environment.ProcessorCount} CPUs; saturation at {string.Join(", ", options.ConcurrencyLevels)} workers, {options.WarmupSeconds:0.#} s warm-up + "
                + $"{options.DurationSeconds:0.#} s; fixed rate {options.Rate}/s for {options.DurationSeconds:0.#} s (cap {options.MaxInFlight} in flight).");
            Console.WriteLine($"Body ≈ {Payloads.ApproximateBodyBytes} bytes. The load generator shares the CPUs with the server under test.");

            var runs = new List<ServerRun>();
            if (options.RunBaseline) runs.Add(await RunBaselineAsync(durable: false, ct));
            if (options.RunBaseline && options.DurableBaseline) runs.Add(await RunBaselineAsync(durable: true, ct));
            if (options.RunService)
            {
                if (!File.Exists(webDll))
                {
                    Console.Error.WriteLine($"{webDll} not found: build it (dotnet build -c Release src/TwilioChannel.Web) or pass --web-dll.");
                    return 2;
                }
                runs.Add(await RunServiceAsync(webDll, Path.Combine(resultsDir, $"webhook-{stamp}-service.log"), ct));
            }

            var report = Report.Markdown(options, runs, _started, root is null ? null : await GitStateAsync(root, ct));
            var file = Path.Combine(resultsDir, $"webhook-{stamp}.md");
            await File.WriteAllTextAsync(file, report, ct);
            Console.WriteLine();
            Console.WriteLine(report);
            Console.WriteLine($"Written to {file}");
            return runs.Any(r => r.Failed) ? 1 : 0;
        }

        private async Task<ServerRun> RunBaselineAsync(bool durable, CancellationToken ct)
        {
            var run = new ServerRun(durable ? Report.DurableBaseline : "baseline");
            var port = FreePort();
            var url = new Uri($"http://127.0.0.1:{port}{Payloads.Path}");
            var journal = durable ? Path.Combine(Path.GetTempPath(), $"twilio-channel-bench-journal-{Environment.ProcessId}.bin") : null;
            Console.WriteLine($"[{run.Name}] bare ASP.NET endpoint in {(options.BaselineProcess ? "a process of its own" : "this process")} on {url}{(journal is null ? "" : $", acking after an fsync of {journal}")}");
            var child = options.BaselineProcess ? await BaselineProcess.WebhookAsync(port, journal, ct) : null;
            await using var server = child is null ? await BaselineServer.StartAsync(port, new Dictionary<string, string> { [Payloads.AccountSid] = Payloads.AuthToken }, journal, ct) : (IAsyncDisposable)child;
            Func<CpuSample> cpu = () => CpuSample.Take(child?.CpuTime ?? TimeSpan.Zero);
            await MeasureAsync(run, url, cpu, settle: null, ct);
            return run;
        }

        private async Task<ServerRun> RunServiceAsync(string webDll, string logFile, CancellationToken ct)
        {
            var run = new ServerRun("service");
            var port = FreePort();
            var url = new Uri($"http://127.0.0.1:{port}{Payloads.Path}");
            Console.WriteLine($"[service] starting {webDll} on {url.GetLeftPart(UriPartial.Authority)} (log: {logFile})");
            var service = ServiceProcess.Start(webDll, port, logFile);
            _service = service;
            try
            {
                var started = Stopwatch.StartNew();
                await service.WaitReadyAsync(TimeSpan.FromSeconds(90), ct);
                Console.WriteLine($"[service] ready in {started.Elapsed.TotalSeconds:0.0} s; seeding account, installation and number");
                await service.SeedAsync(ct);

                Func<CpuSample> cpu = () => CpuSample.Take(service.CpuTime);
                var pools = await MeasureAsync(run, url, cpu, async next =>
                {
                    // The router files every stored message off the ack path (after the burst, Inbound:BurstMaxDelaySeconds
                    // at most); let it catch up so the next mode or level measures a burst of its own, not the filing
                    // of the one before (--back-to-back keeps the levels back to back: a sustained overload).
                    var settle = Stopwatch.StartNew();
                    var routed = await service.WaitRoutedAsync(TimeSpan.FromSeconds(options.SettleSeconds), ct);
                    var line = routed
                        ? $"Router backlog drained in {settle.Elapsed.TotalSeconds:0.0} s (before {next})."
                        : $"Router backlog NOT drained within {options.SettleSeconds:0} s; {next} ran alongside it.";
                    run.Notes.Add(line);
                    Console.WriteLine($"[service] {line}");
                }, ct);

                // Correctness: every acknowledged message is stored, once.
                Console.WriteLine("[service] counting stored messages (paging /api/admin/messages)");
                var counting = Stopwatch.StartNew();
                var stored = await service.StoredSidsAsync(TimeSpan.FromSeconds(180), ct);
                var acked = pools.SelectMany(p => p.AcknowledgedSids()).ToHashSet(StringComparer.Ordinal);
                var storedSet = stored.ToHashSet(StringComparer.Ordinal);
                var missing = acked.Count(sid => !storedSet.Contains(sid));
                var unacked = storedSet.Count(sid => !acked.Contains(sid));
                var duplicates = stored.Count - storedSet.Count;
                var verdict = missing == 0 && duplicates == 0 && stored.Count == acked.Count ? "OK: stored == acknowledged"
                    : missing == 0 && duplicates == 0 ? $"stored > acknowledged by {unacked} (requests that failed on the client side but were committed)"
                    : "FAILED";
                run.Failed |= missing > 0 || duplicates > 0;
                run.Notes.Add($"Correctness: {stored.Count:N0} messages stored, {acked.Count:N0} acknowledged (200); acknowledged but missing: {missing}; "
                    + $"stored but not acknowledged: {unacked}; duplicate SIDs: {duplicates} → **{verdict}** (counted in {counting.Elapsed.TotalSeconds:0.0} s).");
                Console.WriteLine($"[service] {run.Notes[^2]}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                run.Failed = true;
                run.Notes.Add($"Run aborted: {ex.GetType().Name}: {ex.Message}");
                Console.Error.WriteLine($"[service] aborted: {ex}");
            }
            finally
            {
                var (warnings, errors) = (service.LoggedWarnings, service.LoggedErrors);
                await service.DisposeAsync();
                _service = null;
                var shutdownErrors = service.LoggedErrors - errors;
                run.Notes.Add($"Service log ({Path.GetFileName(logFile)}): {warnings} warn and {errors} fail/crit lines while running; "
                    + $"{shutdownErrors} fail/crit lines during shutdown (SIGTERM), exit code {service.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}.");
                if (options.KeepData) run.Notes.Add($"Data kept in {service.DataPath}.");
                else service.DeleteData();
            }
            return run;
        }

        /// <summary>Sanity check, saturation, then fixed rate, each on its own pre-signed pool; returns the pools.</summary>
        /// <param name="settle">Waits for the server's backlog (the service's router) before the named next level or mode.</param>
        private async Task<List<SignedRequests>> MeasureAsync(ServerRun run, Uri url, Func<CpuSample> cpu, Func<string, Task>? settle, CancellationToken ct)
        {
            var pools = new List<SignedRequests>();
            var sanity = Payloads.Generate(url, 1, _sids);
            pools.Add(sanity);
            await SanityCheckAsync(run.Name, sanity, ct);

            for (var level = 0; level < options.ConcurrencyLevels.Count; level++)
            {
                // The first level warms the JIT up; later ones only need their connections opened and settled.
                var workers = options.ConcurrencyLevels[level];
                if (level > 0 && settle is not null && !options.BackToBack) await settle($"the {workers}-worker level");
                var warmup = level == 0 ? options.WarmupSeconds : Math.Min(options.WarmupSeconds, 5);
                var poolSize = (int)Math.Clamp(options.PoolRate * (warmup + options.DurationSeconds), 10_000, 3_000_000);
                var saturationPool = Prepare(run.Name, $"saturation ({workers} workers)", url, poolSize);
                pools.Add(saturationPool);
                Console.WriteLine($"[{run.Name}] saturation: {workers} workers, {warmup:0.#} s warm-up + {options.DurationSeconds:0.#} s");
                var result = await Load.SaturateAsync(saturationPool, workers, warmup, options.DurationSeconds, cpu, ct);
                run.Sweep.Add(result);
                Console.WriteLine($"[{run.Name}]   {result.RequestsPerSecond:N0} req/s, p50 {result.Latency.P50:0.00} ms, p99 {result.Latency.P99:0.00} ms, "
                    + $"errors {result.Errors}{(result.FirstError is { } e ? $" (first: {e})" : "")}");
                if (result.PoolExhausted)
                    run.Notes.Add($"Saturation at {workers} workers: the {saturationPool.Count:N0} pre-signed requests ran out after {result.WindowSeconds:0.0} s of the window; "
                        + "rate over that shorter window (raise --pool-rate).");
            }

            if (settle is not null) await settle("the fixed-rate mode");

            var warmUp = (int)Math.Round(options.Rate * options.FixedWarmupSeconds);
            var fixedPool = Prepare(run.Name, "fixed rate", url, warmUp + (int)Math.Max(1, Math.Round(options.Rate * options.DurationSeconds)));
            pools.Add(fixedPool);
            Console.WriteLine($"[{run.Name}] fixed rate: {options.Rate}/s, {options.FixedWarmupSeconds:0.#} s warm-up + {options.DurationSeconds:0.#} s");
            run.FixedRate = await Load.FixedRateAsync(fixedPool, options.Rate, options.MaxInFlight, cpu, ct, warmUp: warmUp);
            Console.WriteLine($"[{run.Name}]   achieved {run.FixedRate.AchievedPerSecond:N0}/s, p50 {run.FixedRate.FromScheduled.P50:0.00} ms, "
                + $"p99 {run.FixedRate.FromScheduled.P99:0.00} ms, failed {run.FixedRate.Failed}, over cap {run.FixedRate.OverCap}"
                + (run.FixedRate.FirstError is { } f ? $" (first: {f})" : ""));
            return pools;
        }

        private SignedRequests Prepare(string server, string mode, Uri url, int count)
        {
            var watch = Stopwatch.StartNew();
            var pool = Payloads.Generate(url, count, _sids, customers: options.WebhookCustomers);
            // Settle the heap now rather than inside the timed window.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            Console.WriteLine($"[{server}] {mode}: {count:N0} signed requests generated in {watch.Elapsed.TotalSeconds:0.0} s");
            return pool;
        }

        /// <summary>One good request must get 200 + TwiML, one with a wrong signature 403: both servers check the same thing.</summary>
        private static async Task SanityCheckAsync(string server, SignedRequests sanity, CancellationToken ct)
        {
            using var client = Load.CreateClient(1);
            using (var good = sanity.Create(0))
            using (var response = await client.SendAsync(good, ct))
            {
                var body = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode != HttpStatusCode.OK || !body.Contains("<Response/>", StringComparison.Ordinal)
                    || response.Content.Headers.ContentType?.MediaType != "text/xml")
                    throw new InvalidOperationException($"[{server}] a signed webhook got {(int)response.StatusCode} {response.Content.Headers.ContentType}: {body}");
                sanity.Acknowledged[0] = true;
            }
            using var forged = Payloads.Request(sanity.Url, sanity.Body(0), Convert.ToBase64String(new byte[20]));
            using var refused = await client.SendAsync(forged, ct);
            if (refused.StatusCode != HttpStatusCode.Forbidden)
                throw new InvalidOperationException($"[{server}] a webhook with a wrong signature got {(int)refused.StatusCode}, not 403.");
        }

        /// <summary>"abc1234" or "abc1234 + uncommitted changes in src/ (N files)": which code was measured.</summary>
        internal static async Task<string?> GitStateAsync(string root, CancellationToken ct)
        {
            try
            {
                var head = (await GitAsync(root, ct, "rev-parse", "--short", "HEAD")).Trim();
                var dirty = (await GitAsync(root, ct, "status", "--porcelain", "--", "src")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
                return dirty == 0 ? head : $"{head} + uncommitted changes in src/ ({dirty} files)";
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
            {
                return null;
            }
        }

        private static async Task<string> GitAsync(string root, CancellationToken ct, params string[] args)
        {
            var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
            foreach (var arg in args) start.ArgumentList.Add(arg);
            using var git = Process.Start(start) ?? throw new InvalidOperationException("git didn't start");
            var output = git.StandardOutput.ReadToEndAsync(ct);
            _ = git.StandardError.ReadToEndAsync(ct);
            await git.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
            if (git.ExitCode != 0) throw new InvalidOperationException($"git exited with {git.ExitCode}");
            return await output;
        }

        internal static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        internal static string? RepositoryRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "TwilioChannel.sln"))) return dir.FullName;
            return null;
        }
    }
}
