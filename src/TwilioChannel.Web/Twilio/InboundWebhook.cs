using TwilioChannel.Domain.Twilio;
using TwilioChannel.Web.Data;

namespace TwilioChannel.Web.Twilio;

/// <summary>POST /twilio/messages: a customer's SMS or WhatsApp message, durably in the inbox before we answer.</summary>
internal static class InboundWebhook
{
    /// <summary>Empty TwiML. Never answer text/plain: Twilio would send it to the customer as a reply.</summary>
    private const string EmptyTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

    public static async Task<IResult> ReceiveAsync(HttpContext http, InboundInbox inbox, UnprojectedCustomers unprojected, TimeProvider time, CancellationToken ct)
    {
        var form = (Dictionary<string, string>)http.Items[TwilioSignatureFilter.FormItem]!;
        var received = time.GetUtcNow().UtcDateTime;
        // Checked now so that a form lacking what a message needs gets its 400 at once; the projector builds the message
        // again from the form the inbox keeps, the only thing that survives a restart (Twilio/InboundProjector).
        if (InboundMessage.FromForm(form, received, out var missing) is not { } message)
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
        // Before the answer: an agent's reply pushed once Twilio has it waits for this message to reach the database.
        unprojected.Acknowledged(message.From, inbox.Acknowledged);

        return TypedResults.Text(EmptyTwiml, "text/xml");
    }
}
