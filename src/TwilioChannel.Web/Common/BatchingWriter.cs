using System.Threading.Channels;

namespace TwilioChannel.Web.Common;

/// <summary>
/// The group-commit loop shared by the ack path (Twilio/InboundInbox) and other small writes (GroupCommit): callers enqueue
/// and wait; one loop takes whatever has queued up (at most <paramref name="maxBatch"/>) and processes it as one batch.
/// Batches grow with load and a lone item goes at once: there is no timer. On shutdown the queue is closed (enqueuing
/// throws ChannelClosedException) and everything already queued is still processed.
/// </summary>
internal abstract class BatchingWriter<TItem>(int maxBatch, int capacity) : BackgroundService
{
    private readonly Channel<TItem> _queue = Channel.CreateBounded<TItem>(
        new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    protected ValueTask EnqueueAsync(TItem item, CancellationToken ct) => _queue.Writer.WriteAsync(item, ct);

    /// <summary>Enqueues without waiting; false when the queue is full or closed (shutting down).</summary>
    protected bool TryEnqueue(TItem item) => _queue.Writer.TryWrite(item);

    /// <summary>Processes one batch; must complete every item's waiter, also on failure. Never cancelled midway.</summary>
    protected abstract Task ProcessBatchAsync(List<TItem> batch);

    /// <summary>Once <paramref name="durable"/> completes (a commit's fsync, Data/WalDurability), runs
    /// <paramref name="complete"/>, or <paramref name="fail"/> if it failed. The loop doesn't wait: it writes the next
    /// batch meanwhile.</summary>
    protected static void WhenDurable(Task durable, Action complete, Action<Exception> fail)
    {
        _ = ContinueAsync();

        async Task ContinueAsync()
        {
            try
            {
                await durable;
            }
            catch (Exception ex)
            {
                fail(ex);
                return;
            }
            complete();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken)) await NextBatchAsync();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.Count > 0) await NextBatchAsync();
        }
    }

    private Task NextBatchAsync()
    {
        var batch = new List<TItem>(maxBatch);
        while (batch.Count < maxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
        return ProcessBatchAsync(batch);
    }
}
