using System.Diagnostics;
using System.Globalization;

namespace TwilioChannel.Bench;

/// <summary>
/// A baseline server (BaselineServer, BareForwarder) in a child process of its own, as the service runs, instead of in
/// this process beside the load generator (--baseline-process). In this process the baseline shares one thread pool and
/// one GC with the load generator and the fake Twilio, and pays no cross-process scheduling, which the service always
/// pays on the same 2 CPUs: the two placements bound the ratio from both sides, and reports say which one was used.
/// The child is this bench program started with <c>--serve-baseline</c>; it stops when its standard input closes, so it
/// never outlives the bench (a killed bench closes the pipe).
/// </summary>
internal sealed class BaselineProcess : IAsyncDisposable
{
    private const string Flag = "--serve-baseline";
    private readonly Process _process;

    private BaselineProcess(Process process) => _process = process;

    /// <summary>CPU time the child used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.HasExited ? TimeSpan.Zero : _process.TotalProcessorTime;
        }
    }

    /// <summary>The webhook baseline (with <paramref name="journal"/>: acking after an fsync of it) on <paramref name="port"/>.</summary>
    public static Task<BaselineProcess> WebhookAsync(int port, string? journal, CancellationToken ct) =>
        StartAsync(["webhook", Text(port), journal ?? "-"], ct);

    /// <summary>A forwarder (bare, SDK or durable SDK) on <paramref name="port"/>, sending to <paramref name="twilio"/>.</summary>
    public static Task<BaselineProcess> ForwarderAsync(int port, Uri twilio, ForwardMode mode, CancellationToken ct) =>
        StartAsync(["forwarder", Text(port), twilio.ToString(), mode.ToString()], ct);

    private static async Task<BaselineProcess> StartAsync(string[] arguments, CancellationToken ct)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Started as `dotnet TwilioChannel.Bench.dll`, the child needs the dll; as an apphost, it doesn't.
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet") start.ArgumentList.Add(typeof(BaselineProcess).Assembly.Location);
        start.ArgumentList.Add(Flag);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("The baseline process did not start.");
        var ready = await process.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(60), ct);
        if (ready != "ready")
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The baseline process did not start: {ready ?? "it exited"}.");
        }
        return new BaselineProcess(process);
    }

    /// <summary>The child's side: true when <paramref name="args"/> asked for it, after serving until stdin closed.</summary>
    public static async Task<bool> TryServeAsync(string[] args)
    {
        if (args.Length < 3 || args[0] != Flag) return false;
        var port = int.Parse(args[2], CultureInfo.InvariantCulture);
        await using IAsyncDisposable server = args[1] switch
        {
            "webhook" => await BaselineServer.StartAsync(port, new Dictionary<string, string> { [Payloads.AccountSid] = Payloads.AuthToken },
                args[3] == "-" ? null : args[3], CancellationToken.None),
            "forwarder" => await BareForwarder.StartAsync(port, new Uri(args[3]), Payloads.AccountSid, Payloads.AuthToken, ReplyPayloads.SmsNumber,
                Enum.Parse<ForwardMode>(args[4]), CancellationToken.None),
            var other => throw new ArgumentException($"{Flag}: unknown server '{other}'."),
        };
        Console.WriteLine("ready");
        await Console.In.ReadToEndAsync();
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
