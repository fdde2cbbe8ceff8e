using System.Diagnostics;
using System.Net;

namespace TwilioChannel.Bench;

/// <summary>
/// CPU seconds used so far by the load generator (this process), the server when it is a separate process, and the
/// whole machine (/proc/stat; NaN elsewhere) — the last shows other processes competing for the CPUs during a run.
/// </summary>
internal readonly record struct CpuSample(long Timestamp, TimeSpan Bench, TimeSpan Server, double Machine)
{
    public static CpuSample Take(TimeSpan server) => new(Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime, server, MachineBusySeconds());

    /// <summary>user + nice + system + irq + softirq of all CPUs, in seconds (USER_HZ is 100 on Linux).</summary>
    private static double MachineBusySeconds()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[0] != "cpu") return double.NaN;
            var t = fields.Skip(1).Select(f => long.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            return (t[0] + t[1] + t[2] + t[5] + t[6]) / 100.0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return double.NaN;
        }
    }
}

internal sealed record LatencySummary(int Count, double P50, double P99, double P999, double Max)
{
    /// <summary>Milliseconds, nearest-rank percentiles over raw Stopwatch ticks.</summary>
    public static LatencySummary From(long[] ticks)
    {
        Array.Sort(ticks);
        double At(double p) => ticks.Length == 0 ? double.NaN : Ms(ticks[Math.Clamp((int)Math.Ceiling(p * ticks.Length) - 1, 0, ticks.Length - 1)]);
        return new LatencySummary(ticks.Length, At(0.50), At(0.99), At(0.999), ticks.Length == 0 ? double.NaN : Ms(ticks[^1]));
    }

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

internal sealed record CpuUse(double BenchCores, double ServerCores, double OtherCores);

internal sealed record SaturationResult(
    int Workers, double WindowSeconds, long Ok, long Errors, long ErrorsInWindow, double RequestsPerSecond, LatencySummary Latency,
    bool PoolExhausted, CpuUse Cpu, string? FirstError);

internal sealed record FixedRateResult(
    int Rate, double Seconds, int Scheduled, long Ok, long Failed, long OverCap, double AchievedPerSecond,
    LatencySummary FromScheduled, LatencySummary ServiceTime, LatencySummary DispatchLag, int PeakInFlight, CpuUse Cpu, string? FirstError)
{
    /// <summary>Requests sent at the same rate on the same connections before the measured ones (not in any figure).</summary>
    public int WarmUp { get; init; }

    /// <summary>p99 (ms, from the scheduled time) of each measured second: a steady tail and a burst of stalls give the
    /// same overall p99, not the same line.</summary>
    public IReadOnlyList<double> P99PerSecond { get; init; } = [];
}

/// <summary>The two load shapes. Requests are pre-generated; the client only sends and times.</summary>
internal static class Load
{
    public static HttpClient CreateClient(int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        // No trace-context headers or per-request Activity work on the client side.
        ActivityHeadersPropagator = null,
    })
    {
        Timeout = TimeSpan.FromSeconds(10),
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static long Ticks(double seconds) => (long)(seconds * Stopwatch.Frequency);

    private static CpuUse Cpu(CpuSample from, CpuSample to)
    {
        var wall = (to.Timestamp - from.Timestamp) / (double)Stopwatch.Frequency;
        if (wall <= 0) return new CpuUse(double.NaN, double.NaN, double.NaN);
        var bench = (to.Bench - from.Bench).TotalSeconds / wall;
        var server = (to.Server - from.Server).TotalSeconds / wall;
        return new CpuUse(bench, server, Math.Max(0, (to.Machine - from.Machine) / wall - bench - server));
    }

    /// <summary>
    /// Closed loop: <paramref name="workers"/> workers each send, wait for the answer, send again, for warm-up +
    /// duration. Throughput and latency count the answers that arrive inside the measured window.
    /// </summary>
    public static async Task<SaturationResult> SaturateAsync(SignedRequests requests, int workers, double warmupSeconds, double durationSeconds,
        Func<CpuSample> cpu, CancellationToken ct)
    {
        using var client = CreateClient(workers);
        var start = Stopwatch.GetTimestamp();
        var from = start + Ticks(warmupSeconds);
        var to = from + Ticks(durationSeconds);
        var next = -1;
        var exhausted = 0;
        var lastInWindow = from;
        string? firstError = null;

        // CPU over the measured window (or up to the moment the workers stop, if the pool runs out first).
        var samples = new CpuSample[2];
        using var stopSampler = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampler = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(warmupSeconds), stopSampler.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            samples[0] = cpu();
            var left = to - Stopwatch.GetTimestamp();
            try
            {
                if (left > 0) await Task.Delay(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), stopSampler.Token);
            }
            catch (OperationCanceledException)
            {
                // The workers stopped early.
            }
            samples[1] = cpu();
        }, CancellationToken.None);

        var tasks = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<long>(4096);
            long ok = 0, errors = 0, errorsInWindow = 0;
            while (!ct.IsCancellationRequested)
            {
                var sent = Stopwatch.GetTimestamp();
                if (sent >= to) break;
                var i = Interlocked.Increment(ref next);
                if (i >= requests.Count)
                {
                    Volatile.Write(ref exhausted, 1);
                    break;
                }

                var success = false;
                try
                {
                    using var request = requests.Create(i);
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                    success = response.StatusCode == HttpStatusCode.OK;
                    if (!success) Interlocked.CompareExchange(ref firstError, $"HTTP {(int)response.StatusCode}", null);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    Interlocked.CompareExchange(ref firstError, $"{ex.GetType().Name}: {ex.Message}", null);
                }

                var done = Stopwatch.GetTimestamp();
                if (success)
                {
                    requests.Acknowledged[i] = true;
                    ok++;
                }
                else
                {
                    errors++;
                }
                if (done >= from && done <= to)
                {
                    if (success) latencies.Add(done - sent);
                    else errorsInWindow++;
                    InterlockedMax(ref lastInWindow, done);
                }
            }
            return (latencies, ok, errors, errorsInWindow);
        }, ct)).ToArray();

        (List<long> latencies, long ok, long errors, long errorsInWindow)[] results;
        try
        {
            results = await Task.WhenAll(tasks);
        }
        finally
        {
            await stopSampler.CancelAsync();
            await sampler;
        }

        var poolExhausted = Volatile.Read(ref exhausted) == 1;
        var window = poolExhausted ? (Volatile.Read(ref lastInWindow) - from) / (double)Stopwatch.Frequency : durationSeconds;
        var all = results.SelectMany(r => r.latencies).ToArray();
        return new SaturationResult(workers, window, results.Sum(r => r.ok), results.Sum(r => r.errors), results.Sum(r => r.errorsInWindow),
            window > 0 ? all.Length / window : 0, LatencySummary.From(all), poolExhausted,
            samples[0].Timestamp == 0 ? new CpuUse(double.NaN, double.NaN, double.NaN) : Cpu(samples[0], samples[1]), firstError);
    }

    /// <summary>
    /// Open loop: request i is due at t0 + i/rate whatever happened to the others, and its latency runs from that
    /// scheduled time (so a stalled server can't hide its backlog: no coordinated omission). A dedicated thread sends
    /// everything due every ~1 ms; a request due while <paramref name="maxInFlight"/> are outstanding is not sent and
    /// counts as over cap. <paramref name="answeredAt"/> and <paramref name="scheduledAt"/>, when given, get each
    /// request's Stopwatch timestamps of its 200 answer (0: not answered 200) and of its scheduled send.
    /// The first <paramref name="warmUp"/> requests go out at the same rate on the same client but count in no figure:
    /// a fresh client opens its connections during the first second, and both sides' connection set-up then made that
    /// second's p99 several times the steady one's, for every server (docs/benchmarks.md, session 11).
    /// </summary>
    public static async Task<FixedRateResult> FixedRateAsync(SignedRequests requests, int rate, int maxInFlight, Func<CpuSample> cpu, CancellationToken ct,
        long[]? answeredAt = null, long[]? scheduledAt = null, int warmUp = 0)
    {
        const long Failed = -1, OverCap = -2;
        var total = requests.Count;
        var fromScheduled = new long[total];
        var serviceTime = new long[total];
        var lag = new long[total];
        var inFlight = 0;
        var peak = 0;
        var completed = 0;
        var lastDone = 0L;
        string? firstError = null;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = CreateClient(maxInFlight);
        var perRequest = Stopwatch.Frequency / (double)rate;

        void Complete()
        {
            if (Interlocked.Increment(ref completed) == total) allDone.TrySetResult();
        }

        async Task SendAsync(int i, long scheduled)
        {
            var sent = Stopwatch.GetTimestamp();
            lag[i] = sent - scheduled;
            var success = false;
            try
            {
                using var request = requests.Create(i);
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                success = response.StatusCode == HttpStatusCode.OK;
                if (!success) Interlocked.CompareExchange(ref firstError, $"HTTP {(int)response.StatusCode}", null);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref firstError, $"{ex.GetType().Name}: {ex.Message}", null);
            }
            var done = Stopwatch.GetTimestamp();
            if (success && answeredAt is not null) answeredAt[i] = done;
            if (scheduledAt is not null) scheduledAt[i] = scheduled;
            requests.Acknowledged[i] = success;
            fromScheduled[i] = success ? done - scheduled : Failed;
            serviceTime[i] = done - sent;
            InterlockedMax(ref lastDone, done);
            Interlocked.Decrement(ref inFlight);
            Complete();
        }

        var t0 = Stopwatch.GetTimestamp() + Ticks(0.05);
        var measuredFrom = t0 + (long)(warmUp * perRequest);
        var before = (CpuSample?)null;
        var dispatcher = new Thread(() =>
        {
            var i = 0;
            while (i < total && !ct.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                if (before is null && now >= measuredFrom) before = cpu();
                for (long due; i < total && (due = t0 + (long)(i * perRequest)) <= now; i++)
                {
                    if (Volatile.Read(ref inFlight) >= maxInFlight)
                    {
                        fromScheduled[i] = OverCap;
                        lag[i] = -1;
                        Complete();
                        continue;
                    }
                    InterlockedMax(ref peak, Interlocked.Increment(ref inFlight));
                    _ = SendAsync(i, due);
                }
                if (i < total) Thread.Sleep(1);
            }
            // Cancelled: account for what was never sent, so the wait below ends.
            for (; i < total; i++)
            {
                fromScheduled[i] = OverCap;
                Complete();
            }
        })
        { IsBackground = true, Name = "fixed-rate dispatcher", Priority = ThreadPriority.AboveNormal };
        dispatcher.Start();

        var scheduledSeconds = total / (double)rate;
        // Every request ends within the client timeout (10 s) of being sent.
        await allDone.Task.WaitAsync(TimeSpan.FromSeconds(scheduledSeconds + 30), CancellationToken.None);
        dispatcher.Join(TimeSpan.FromSeconds(5));
        var after = cpu();

        var measured = fromScheduled.AsSpan(warmUp).ToArray();
        var ok = measured.Where(t => t >= 0).ToArray();
        var overCap = measured.LongCount(t => t == OverCap);
        var failed = measured.Length - ok.Length - overCap;
        var measuredSeconds = measured.Length / (double)rate;
        var elapsed = Math.Max(measuredSeconds, (Volatile.Read(ref lastDone) - measuredFrom) / (double)Stopwatch.Frequency);
        var sentIdx = Enumerable.Range(warmUp, measured.Length).Where(i => fromScheduled[i] != OverCap).ToArray();
        var perSecond = measured.Chunk(rate).Select(second => LatencySummary.From(second.Where(t => t >= 0).ToArray()).P99).ToArray();
        return new FixedRateResult(rate, measuredSeconds, measured.Length, ok.Length, failed, overCap, ok.Length / elapsed,
            LatencySummary.From(ok), LatencySummary.From(sentIdx.Select(i => serviceTime[i]).ToArray()),
            LatencySummary.From(sentIdx.Select(i => lag[i]).ToArray()), Volatile.Read(ref peak), Cpu(before ?? after, after), firstError)
        { WarmUp = warmUp, P99PerSecond = perSecond };
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }
}
