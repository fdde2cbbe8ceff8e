using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TwilioChannel.Web.Tests.Infrastructure;

namespace TwilioChannel.Web.Tests.Replies;

/// <summary>A reply to a customer whose number the admin deleted since they wrote: it still reaches them, from the
/// org's default number, and that change of sender is said instead of happening silently.</summary>
public sealed class DeletedNumberReplyTests : ReplyTestsBase
{
    private const string Retired = "+14155550177";

    [Fact]
    public async Task AReplyAfterTheCustomersNumberWasDeletedGoesFromTheDefaultNumberAndSaysSo()
    {
        _twilio.AcceptMessages();
        using var admin = _app.Admin();
        var created = await admin.PostAsJsonAsync("/api/admin/numbers", new { address = Retired, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var retiredId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await _app.CustomerWritesAsync(Fixtures.Sms("Where is my order?", from: Bob, to: Retired));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/admin/numbers/{retiredId}")).StatusCode);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "It ships today."));

        Assert.Equal(200, status);
        Assert.Equal(Fixtures.SmsNumber, Assert.Single(_twilio.Sent)["From"]);
        Assert.Equal(Fixtures.SmsNumber, body["from"]!.GetValue<string>());
        Assert.Contains($"({Retired}) is no longer configured", body["extra"]!["value"]!["senderNote"]!.GetValue<string>());
        Assert.Contains(_app.Logs.Lines, l => l.Contains("no longer configured", StringComparison.Ordinal) && l.Contains($"number id {retiredId}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWhatsAppReplyAfterTheCustomersSenderWasDeletedFailsAtOnceForTheDefaultSendersClosedWindow()
    {
        // Meta keeps a 24-hour window per sender: the customer opened one with the deleted sender, none with the default.
        // The reply went out free-form from the default, showed as sent in Desk, and failed later with 63016.
        const string RetiredSender = "whatsapp:+14155550188";
        _twilio.AcceptMessages();
        using var admin = _app.Admin();
        var created = await admin.PostAsJsonAsync("/api/admin/numbers", new { address = RetiredSender, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var retiredId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var message = Fixtures.WhatsApp("¿Dónde está mi pedido?", from: Ana);
        message["To"] = RetiredSender;
        await _app.CustomerWritesAsync(message);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/admin/numbers/{retiredId}")).StatusCode);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Ana, "Sale hoy."));

        Assert.Equal(400, status);
        var reason = body["message"]!.GetValue<string>();
        Assert.Contains("24-hour window closed", reason);
        Assert.Contains($"wrote to {RetiredSender}, which is no longer configured, and not to {Fixtures.WhatsAppNumber}", reason);
        Assert.Empty(_twilio.Sent);
    }

    [Fact]
    public async Task AReplyAfterTheCustomersNumberWasDeletedAndAddedAgainGoesFromThatNumber()
    {
        // Numbers can't be edited: an admin adding a WhatsApp template or a Messaging Service deletes the number and adds
        // it again, under a new id. The customer's conversation kept the old id, so replies went from the org's default.
        _twilio.AcceptMessages();
        using var admin = _app.Admin();
        var first = await admin.PostAsJsonAsync("/api/admin/numbers", new { address = Retired, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });
        var firstId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await _app.CustomerWritesAsync(Fixtures.Sms("Where is my order?", from: Bob, to: Retired));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/admin/numbers/{firstId}")).StatusCode);
        var again = await admin.PostAsJsonAsync("/api/admin/numbers", new { address = Retired, accountSid = Fixtures.AccountSid, orgId = Fixtures.OrgId });
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "It ships today."));

        Assert.Equal(200, status);
        Assert.Equal(Retired, Assert.Single(_twilio.Sent)["From"]);
        Assert.Null(body["extra"]!["value"]!["senderNote"]);
    }

    [Fact]
    public async Task AReplyFromTheNumberTheCustomerWroteToCarriesNoSenderNote()
    {
        _twilio.AcceptMessages();
        await _app.CustomerWritesAsync(Fixtures.Sms("Where is my order?", from: Bob));

        var (status, body) = await _app.PushAsync(ReplyApp.Push(Bob, "It ships today."));

        Assert.Equal(200, status);
        Assert.Null(body["extra"]!["value"]!["senderNote"]);
        Assert.DoesNotContain(_app.Logs.Lines, l => l.Contains("no longer configured", StringComparison.Ordinal));
    }
}
