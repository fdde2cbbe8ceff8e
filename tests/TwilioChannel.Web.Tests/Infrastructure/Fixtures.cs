namespace TwilioChannel.Web.Tests.Infrastructure;

/// <summary>The shared payloads (tests/fixtures, copied from shared/reference/fixtures).</summary>
public static class Fixtures
{
    public const string AccountSid = "AC11111111111111111111111111111111";
    public const string AuthToken = "0123456789abcdef0123456789abcdef";
    public const string OrgId = "28732";
    public const string SecurityContext = "1000.8f2c1d9e7b6a5f4e3d2c1b0a9f8e7d6c.5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e";
    public const string SmsNumber = "+14155550100";
    public const string WhatsAppNumber = "whatsapp:+14155238886";

    public static string Text(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", name)).Trim();

    public static Dictionary<string, string> Form(string name) => ParseForm(Text(name));

    public static Dictionary<string, string> ParseForm(string body) =>
        body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(kv => Decode(kv[0]), kv => kv.Length > 1 ? Decode(kv[1]) : "");

    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    /// <summary>A WhatsApp text from a customer, with a fresh MessageSid unless one is given.</summary>
    public static Dictionary<string, string> WhatsApp(string body, string from = "whatsapp:+5511987654321", string? sid = null) => new()
    {
        ["MessageSid"] = sid ?? NewSid(),
        ["AccountSid"] = AccountSid,
        ["From"] = from,
        ["To"] = WhatsAppNumber,
        ["Body"] = body,
        ["NumMedia"] = "0",
        ["ProfileName"] = "Ana Souza",
        ["MessageType"] = "text",
        ["SmsStatus"] = "received",
        ["ApiVersion"] = "2010-04-01",
    };

    public static Dictionary<string, string> Sms(string body, string from = "+14155550123", string? sid = null, string to = SmsNumber) => new()
    {
        ["MessageSid"] = sid ?? NewSid(),
        ["AccountSid"] = AccountSid,
        ["From"] = from,
        ["To"] = to,
        ["Body"] = body,
        ["NumMedia"] = "0",
        ["SmsStatus"] = "received",
        ["ApiVersion"] = "2010-04-01",
    };

    public static string NewSid() => "SM" + Guid.NewGuid().ToString("N");
}
