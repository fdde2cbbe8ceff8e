using System.ComponentModel.DataAnnotations;

namespace TwilioChannel.Web.Jobs;

/// <summary>Section "Jobs": where Hangfire keeps its jobs.</summary>
public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>"SQLite" (default: its own file in the data folder, survives restarts) or "InMemory" (tests, throwaway runs).</summary>
    [RegularExpression("^(SQLite|InMemory)$", ErrorMessage = "Jobs:Storage must be SQLite or InMemory.")]
    public string Storage { get; set; } = "SQLite";

    /// <summary>How often idle workers look for new jobs in SQLite storage (nothing wakes them early). Jobs here are
    /// backfills and reconciliations, where a second of pickup delay is fine; real-time delivery is not a job.</summary>
    [Range(100, 60_000)]
    public int PollIntervalMilliseconds { get; set; } = 1000;

    [Range(1, 32)]
    public int WorkerCount { get; set; } = 2;
}
