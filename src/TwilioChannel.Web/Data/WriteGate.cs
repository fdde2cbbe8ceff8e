namespace TwilioChannel.Web.Data;

/// <summary>
/// Serialises this process's hot write transactions (the InboundWriter, the group commit and the router). SQLite allows one
/// writer at a time and a blocked connection sleeps in its busy handler (1, 2, 5, 10… ms) instead of being woken when the
/// lock frees: measured here, that turned 1 ms commits into 10–60 ms acks whenever the router and the writer met. Waiting
/// on an in-process gate wakes the next writer the moment the previous one commits. On PostgreSQL the gate costs
/// nothing that matters, and other instances are serialised by the database's own row locks as before.
/// </summary>
public sealed class WriteGate
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<IDisposable> EnterAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        return new Release(_gate);
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }
}
