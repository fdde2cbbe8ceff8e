using System.Collections.Concurrent;

namespace TwilioChannel.Web.Common;

/// <summary>
/// Logs refused requests (forged webhooks, wrong securityContexts, unsigned Desk events) without letting a flood of
/// them flood the log. Every endpoint is on the internet: one line per refused request would turn anyone's loop of
/// forged requests into our disk writes and CPU (one log line per outgoing call cost 17 % of the reply rate, session 8
/// in docs/benchmarks.md). The first refusal of a kind in a window is logged at once, with its detail; the rest of that
/// window are counted and reported in one line when it closes. Kinds are our own constants, so the counters stay few;
/// details come from the caller, so they are cut short and stripped of control characters (no forged log lines).
/// </summary>
internal sealed class RefusalLog : IDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private const int DetailLength = 64;

    private readonly ConcurrentDictionary<string, Counter> _kinds = new(StringComparer.Ordinal);
    private readonly ILogger<RefusalLog> _logger;
    private readonly ITimer _flush;

    public RefusalLog(ILogger<RefusalLog> logger, TimeProvider time)
    {
        _logger = logger;
        _flush = time.CreateTimer(_ => Flush(), null, Window, Window);
    }

    /// <param name="kind">What was refused and why, a constant: "a Twilio webhook: bad signature".</param>
    /// <param name="detail">What the caller sent that helps an operator (an org id, a path), or null.</param>
    public void Refused(string kind, string? detail = null)
    {
        var counter = _kinds.GetOrAdd(kind, static _ => new Counter());
        if (Interlocked.Increment(ref counter.InWindow) == 1)
            _logger.LogWarning("Refused {Kind} ({Detail}).", kind, Clean(detail));
    }

    private void Flush()
    {
        foreach (var (kind, counter) in _kinds)
        {
            var count = Interlocked.Exchange(ref counter.InWindow, 0);
            if (count > 1)
                _logger.LogWarning("Refused {Count} more: {Kind}, in the last {Seconds} s.", count - 1, kind, Window.TotalSeconds);
        }
    }

    /// <summary>A caller's text made safe for one log line: at most 64 characters, control characters as '?'.</summary>
    internal static string Clean(string? detail)
    {
        if (string.IsNullOrEmpty(detail)) return "-";
        var cut = detail.Length > DetailLength ? detail[..DetailLength] + "…" : detail;
        return string.Create(cut.Length, cut, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++) span[i] = char.IsControl(source[i]) ? '?' : source[i];
        });
    }

    public void Dispose()
    {
        _flush.Dispose();
        Flush();
    }

    private sealed class Counter
    {
        public int InWindow;
    }
}
