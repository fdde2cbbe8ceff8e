using System.Globalization;

namespace TwilioChannel.Bench;

/// <summary>Command-line settings. Every value is bounded so a run always ends by itself.</summary>
internal sealed record BenchOptions
{
    public double DurationSeconds { get; init; } = 10;
    public double WarmupSeconds { get; init; } = 15;
    public int Rate { get; init; } = 5000;
    public int Concurrency { get; init; } = 64;

    /// <summary>webhook: the saturation levels, each server's peak across them is its saturation throughput. A server
    /// whose ack waits for a disk flush needs more requests in flight than a bare endpoint to be saturated: with 64
    /// connections the closed loop measures its latency, not its capacity.</summary>
    public IReadOnlyList<int> ConcurrencyLevels { get; init; } = [64, 256, 512];
    public int MaxInFlight { get; init; } = 512;

    /// <summary>webhook: seconds sent at the fixed rate on the same connections before the measured ones.</summary>
    public double FixedWarmupSeconds { get; init; } = 3;
    public int PoolRate { get; init; } = 60_000;
    public double SettleSeconds { get; init; } = 60;

    /// <summary>webhook: the service's saturation levels back to back, without waiting for its router between them: a
    /// sustained overload, where each level also pays for filing the one before. By default each level is a burst of
    /// its own (the case: senders deliver thousands per second for a while), after the backlog drained.</summary>
    public bool BackToBack { get; init; }
    public bool RunBaseline { get; init; } = true;
    public bool RunService { get; init; } = true;
    public string? WebDll { get; init; }
    public string? ResultsDir { get; init; }
    public bool KeepData { get; init; }

    /// <summary>replies: also run the forwarder with the create through the Twilio SDK (the SDK's own ceiling).</summary>
    public bool SdkReference { get; init; } = true;

    /// <summary>webhook: also run the bare endpoint acking after an fsync of the form (the durable write's own floor);
    /// replies: also run the SDK forwarder with a durable claim and outcome per reply (exactly-once's own floor).</summary>
    public bool DurableBaseline { get; init; } = true;

    /// <summary>webhook and replies: the baseline servers in a child process of their own, as the service (BaselineProcess.cs).</summary>
    public bool BaselineProcess { get; init; }

    /// <summary>webhook (default), replies (RepliesScenario.cs), delivery, backfill or pull (their *Scenario.cs).</summary>
    public string Scenario { get; init; } = WebhookScenario;
    public bool ConcurrencyGiven { get; init; }
    public bool RateGiven { get; init; }
    public bool WarmupGiven { get; init; }

    /// <summary>backfill: messages in the fake Twilio history; pull: stored feed threads. One run per size.</summary>
    public IReadOnlyList<int> Sizes { get; init; } = [10_000, 1_000_000];

    /// <summary>pull: measured pulls per size and position (after 50 warm-up pulls each).</summary>
    public int Pulls { get; init; } = 100;

    /// <summary>delivery: distinct customers writing (their messages interleave).</summary>
    public int Customers { get; init; } = 50;
    public bool CustomersGiven { get; init; }

    /// <summary>webhook: one customer (the fixture's) unless --customers is given.</summary>
    public int WebhookCustomers => CustomersGiven ? Customers : 1;

    public const string WebhookScenario = "webhook";
    public const string RepliesScenario = "replies";
    public const string DeliveryScenario = "delivery";
    public const string BackfillScenario = "backfill";
    public const string PullScenario = "pull";

    /// <summary>Hard limit for the whole run: the watchdog kills everything past it.</summary>
    public TimeSpan Budget => Scenario switch
    {
        DeliveryScenario => TimeSpan.FromSeconds(300 + WarmupSeconds + DurationSeconds),
        // Generous floors: ≥ 200 messages/s for the bare loop and the service together, ≥ 1,000 rows/s when seeding.
        BackfillScenario => TimeSpan.FromSeconds(300 + 120 * Sizes.Count + Sizes.Sum(n => (double)n) / 200),
        PullScenario => TimeSpan.FromSeconds(300 + 180 * Sizes.Count + Sizes.Sum(n => (double)n) / 1000),
        _ => TimeSpan.FromSeconds(180 + 2 * (WarmupSeconds + 2 * DurationSeconds + ConcurrencyLevels.Count * SettleSeconds + 180)),
    };

    public const string Usage = """
        TwilioChannel.Bench: signed WhatsApp webhooks against the real service and a bare ASP.NET baseline (127.0.0.1 only).

          --scenario webhook|replies|delivery|backfill|pull
                             webhook (default): inbound webhooks, saturation and fixed rate.
                             replies: Desk pushes (POST /desk/push) through the service to a fake Twilio in this process,
                             against a bare forwarder; closed loop only (--concurrency defaults to 32,64,128; --rate, --max-in-flight,
                             --pool-rate and --settle don't apply; --only baseline runs the bare forwarder only)
                             delivery: webhooks at a fixed rate (--rate defaults to 1000) for --warmup + --duration s;
                             end-to-end latency from each ack to its import call at a zero-latency fake Desk in this
                             process; every acknowledged SID must be imported exactly once (--customers)
                             backfill: per --sizes N, a bare paging loop and the service's history backfill against a
                             fake Twilio in this process serving N messages (1,000 per page); throughput and peak RSS
                             pull: per --sizes N, a service data folder with N stored feed threads (bulk-inserted),
                             then --pulls timed POST /desk/pull at the start and near the end of the feed

          --duration S       measured seconds per mode (default 10; 1..600)
          --warmup S         warm-up before the saturation window (default 15: the JIT keeps improving both servers for ~15 s;
                             replies: 45, the service's JIT is busy for ~30 s after it starts there; 0..60)
          --rate R           fixed-rate mode, requests/s (default 5000; 1..200000)
          --concurrency N[,N…] saturation workers and connections; webhook: one saturation run per level, each
                             server's peak is its saturation (default 64,256,512; 1..4096); replies: the same, at most
                             3 levels (default 32,64,128)
          --max-in-flight N  fixed-rate cap on outstanding requests (default 512); beyond it a request is not sent
                             and counts as an error
          --fixed-warmup S   webhook: seconds at the fixed rate on the same connections before the measured
                             window (default 3; 0..60)
          --only baseline|service
          --pool-rate R      pre-generated saturation requests per second of run (default 60000); the saturation
                             window ends early if the pool runs out
          --settle S         wait at most S s for the service's router backlog before each later saturation level and
                             the fixed-rate mode (default 60)
          --back-to-back     webhook: the service's saturation levels without that wait between them (a sustained
                             overload: each level also pays for filing the one before)
          --sizes N,N,...    backfill / pull sizes (default 10000,1000000; each 2,000..5,000,000)
          --pulls N          pull: measured pulls per size and position (default 100; 10..10000)
          --customers N      delivery: distinct customers (default 50); webhook: customers interleaved (default 1); 1..100000
          --web-dll PATH     TwilioChannel.Web.dll (default: src/TwilioChannel.Web/bin/Release/net10.0 of this repo)
          --results DIR      where the markdown report goes (default: bench/results)
          --keep-data        keep the service's temporary data folder
          --no-sdk-reference replies: skip the third server, the forwarder sending through the Twilio SDK
          --no-durable-baseline  webhook: skip the third server, the bare endpoint acking after an fsync;
                             replies: skip the fourth, the SDK forwarder claiming each reply on disk before sending
          --baseline-process webhook, replies: run the baseline servers in a process of their own, as the service runs
                             (default: in this process, beside the load generator)
        """;

    /// <summary>Null when the arguments are wrong (the reason is printed) or help was asked for.</summary>
    public static BenchOptions? Parse(string[] args)
    {
        var options = new BenchOptions();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
                options = name switch
                {
                    "--duration" => options with { DurationSeconds = Number(name, Value(), 1, 600) },
                    "--warmup" => options with { WarmupSeconds = Number(name, Value(), 0, 60), WarmupGiven = true },
                    "--rate" => options with { Rate = (int)Number(name, Value(), 1, 200_000), RateGiven = true },
                    "--sizes" => options with { Sizes = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(v => (int)Number(name, v, 2_000, 5_000_000)).ToArray() is { Length: > 0 } sizes ? sizes : throw new ArgumentException("--sizes needs at least one size.") },
                    "--pulls" => options with { Pulls = (int)Number(name, Value(), 10, 10_000) },
                    "--customers" => options with { Customers = (int)Number(name, Value(), 1, 100_000), CustomersGiven = true },
                    "--concurrency" => Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(v => (int)Number(name, v, 1, 4096)).ToArray() is { Length: > 0 } levels
                        ? options with { Concurrency = levels[0], ConcurrencyLevels = levels, ConcurrencyGiven = true }
                        : throw new ArgumentException("--concurrency needs at least one level."),
                    "--fixed-warmup" => options with { FixedWarmupSeconds = Number(name, Value(), 0, 60) },
                    "--max-in-flight" => options with { MaxInFlight = (int)Number(name, Value(), 1, 16_384) },
                    "--pool-rate" => options with { PoolRate = (int)Number(name, Value(), 1000, 500_000) },
                    "--settle" => options with { SettleSeconds = Number(name, Value(), 0, 600) },
                    "--back-to-back" => options with { BackToBack = true },
                    "--only" => Value() switch
                    {
                        "baseline" => options with { RunBaseline = true, RunService = false },
                        "service" => options with { RunBaseline = false, RunService = true },
                        var other => throw new ArgumentException($"--only takes baseline or service, not '{other}'."),
                    },
                    "--web-dll" => options with { WebDll = Value() },
                    "--results" => options with { ResultsDir = Value() },
                    "--keep-data" => options with { KeepData = true },
                    "--no-sdk-reference" => options with { SdkReference = false },
                    "--no-durable-baseline" => options with { DurableBaseline = false },
                    "--baseline-process" => options with { BaselineProcess = true },
                    "--scenario" => Value() switch
                    {
                        WebhookScenario => options with { Scenario = WebhookScenario },
                        RepliesScenario => options with { Scenario = RepliesScenario },
                        DeliveryScenario => options with { Scenario = DeliveryScenario },
                        BackfillScenario => options with { Scenario = BackfillScenario },
                        PullScenario => options with { Scenario = PullScenario },
                        var other => throw new ArgumentException($"--scenario takes {WebhookScenario}, {RepliesScenario}, {DeliveryScenario}, {BackfillScenario} or {PullScenario}, not '{other}'."),
                    },
                    "-h" or "--help" => throw new HelpRequested(),
                    _ => throw new ArgumentException($"Unknown argument '{name}'."),
                };
            }
            return options;
        }
        catch (HelpRequested)
        {
            Console.WriteLine(Usage);
            return null;
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return null;
        }
    }

    private static double Number(string name, string text, double min, double max)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value) || value < min || value > max)
            throw new ArgumentException($"{name} must be a number from {min} to {max}, not '{text}'.");
        return value;
    }

    private sealed class HelpRequested : Exception;
}
