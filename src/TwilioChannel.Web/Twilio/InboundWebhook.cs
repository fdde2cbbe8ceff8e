using TwilioChannel.Domain.Twilio;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

/// <summary>POST /twilio/messages: a customer's SMS or WhatsApp message, durably in the inbox before we answer.</summary>
internal static class InboundWebhook
{
    /// <summary>Empty TwiML. Never answer text/plain: Twilio would send it to the customer as a reply.</summary>
    private const string EmptyTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

    public static async Task<IResult> ReceiveAsync(HttpContext http, InboundInbox inbox, TimeProvider time, CancellationToken ct)
    {
        var form = (Dictionary<string, string>)http.Items[TwilioSignatureFilter.FormItem]!;
        var received = time.GetUtcNow().UtcDateTime;
        // Checked now so that a form lacking what a message needs gets its 400 at once; the projector builds the message
        // again from the form the inbox keeps, the only thing that survives a restart (Twilio/InboundProjector).
        if (InboundMessage.FromForm(form, received, out var missing) is null)
            return TypedResults.Problem($"The message lacks {string.Join(", ", missing)}.", statusCode: StatusCodes.Status400BadRequest);
        try
        {
            await inbox.AppendAsync(RawForm.Serialize(form), received, ct);
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            // Shutting down: not stored, so not acknowledged (Twilio's message list lets us recover it later).
            return TypedResults.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Text(EmptyTwiml, "text/xml");
    }
}

/// <summary>A stored Message from a webhook's form (as the inbox keeps it).</summary>
internal static class InboundMessages
{
    public static Message? Create(Dictionary<string, string> form, string rawForm, DateTime receivedAt, out IReadOnlyList<string> missing)
    {
        var inbound = InboundMessage.FromForm(form, receivedAt, out missing);
        if (inbound is null) return null;
        return new Message
        {
            MessageSid = inbound.MessageSid,
            AccountSid = inbound.AccountSid,
            From = inbound.From,
            To = inbound.To,
            Body = inbound.Body,
            MessagingServiceSid = inbound.MessagingServiceSid,
            NumMedia = inbound.Media.Count,
            Direction = "in",
            State = MessageState.Received,
            ReceivedAt = receivedAt,
            RawForm = rawForm,
            Form = form,
            Inbound = inbound,
        };
    }
}
