namespace TwilioChannel.Bench;

/// <summary>One scenario's run (webhook: Program.cs BenchRun; replies: RepliesScenario.cs), driven by Program.cs.</summary>
internal interface IBenchRun
{
    Task<int> RunAsync(CancellationToken ct);

    /// <summary>Last resort (watchdog, process exit): kill the child service now.</summary>
    void KillService();
}
