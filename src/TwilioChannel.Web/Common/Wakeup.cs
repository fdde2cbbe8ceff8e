using System.Threading.Channels;

namespace TwilioChannel.Web.Common;

/// <summary>
/// A coalescing in-process wake-up: any number of Notify calls while the worker is busy lead to one more pass.
/// Workers also wake on a timer, so work committed by another instance (or before a crash) is picked up too.
/// </summary>
public class Wakeup
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Notify() => _signal.Writer.TryWrite(true);

    /// <summary>Waits for a Notify or the timeout, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await _signal.Reader.ReadAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }
}
