using Microsoft.EntityFrameworkCore;
using TwilioChannel.Domain.Addresses;
using TwilioChannel.Domain.Replies;
using TwilioChannel.Domain.Twilio;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Routing;

/// <summary>
/// Keeps SMS opt-outs per sender as customers send STOP / START (or Twilio's OptOutType says so), in the routing
/// transaction, so a reply after a STOP fails at once with the reason instead of reaching Twilio.
/// </summary>
internal sealed class OptOutRecorder(ChannelDbContext db, DateTime now)
{
    private readonly Dictionary<(string, string), OptOut> _seen = [];

    public async Task ApplyAsync(InboundMessage message, IReadOnlyDictionary<string, string> form, ChannelNumber number, CancellationToken ct)
    {
        if (message.Channel != MessagingChannel.Sms) return;
        var change = OptOutWords.Classify(message.Body, form.GetValueOrDefault("OptOutType"));
        if (change == OptOutChange.None) return;

        // Opt-out applies per sender: the Messaging Service that received it, else the number.
        var key = (message.MessagingServiceSid ?? number.MessagingServiceSid ?? number.Address, message.From);
        if (!_seen.TryGetValue(key, out var row))
        {
            row = await db.OptOuts.FirstOrDefaultAsync(o => o.SenderKey == key.Item1 && o.CustomerAddress == key.Item2, ct);
            if (row is null)
            {
                row = new OptOut { SenderKey = key.Item1, CustomerAddress = key.Item2 };
                db.OptOuts.Add(row);
            }
            _seen[key] = row;
        }
        row.OptedOut = change == OptOutChange.OptOut;
        row.UpdatedAt = now;
    }
}
