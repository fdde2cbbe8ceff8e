using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace TwilioChannel.Bench;

/// <summary>
/// Signed webhook requests, generated before any timing starts: the form of tests/fixtures/whatsapp-text.form with a
/// longer Body (≈600 bytes in all) and a unique MessageSid per request, signed like Twilio (URL + POST params sorted by
/// name, HMAC-SHA1, base64) for the URL the server sees.
/// </summary>
internal static class Payloads
{
    public const string AccountSid = "AC11111111111111111111111111111111";
    public const string AuthToken = "0123456789abcdef0123456789abcdef";
    public const string OrgId = "28732";
    public const string WhatsAppNumber = "whatsapp:+14155238886";
    public const string Path = "/twilio/messages";

    private const int TargetBodyBytes = 600;
    private const string SidMarker = "{sid}";
    private const string CustomerMarker = "{customer}";
    private static readonly string[] SidFields = ["MessageSid", "SmsSid", "SmsMessageSid"];
    private static readonly MediaTypeHeaderValue FormType = new("application/x-www-form-urlencoded");

    /// <summary>The fixture's fields in its order, SIDs replaced by the marker, Body lengthened to reach ~600 bytes.</summary>
    private static readonly Lazy<List<KeyValuePair<string, string>>> Template = new(() =>
    {
        var file = System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "whatsapp-text.form");
        var fields = File.ReadAllText(file).Trim().Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .Select(kv => KeyValuePair.Create(Decode(kv[0]), kv.Length > 1 ? Decode(kv[1]) : ""))
            .Select(kv => SidFields.Contains(kv.Key) ? KeyValuePair.Create(kv.Key, SidMarker) : kv)
            .ToList();
        Set(fields, "AccountSid", AccountSid);
        Set(fields, "To", WhatsAppNumber);
        if (!fields.Any(kv => kv.Key == "MessageSid")) fields.Add(KeyValuePair.Create("MessageSid", SidMarker));

        const string more = " Comprei o tênis número 38 mas ficou apertado; vocês têm o 39 em estoque? O pedido é o 48213, entregue ontem. "
            + "Posso trocar na loja do shopping ou preciso enviar pelo correio? Obrigada!";
        var body = fields.First(kv => kv.Key == "Body").Value;
        var words = more.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var w = 0; w < words.Length && EncodedLength(fields) < TargetBodyBytes; w++)
        {
            body += " " + words[w];
            Set(fields, "Body", body);
        }
        return fields;
    });

    public static int ApproximateBodyBytes => EncodedLength(Template.Value);

    /// <summary>
    /// <paramref name="count"/> requests for <paramref name="url"/>, with SIDs <paramref name="sids"/> hands out. With
    /// <paramref name="customers"/> &gt; 1, request i comes from customer i % customers (From and WaId vary; 1: the fixture's one).
    /// </summary>
    public static SignedRequests Generate(Uri url, int count, SidSource sids, string authToken = AuthToken, int customers = 1)
    {
        var fields = customers > 1 ? WithCustomerMarker(Template.Value) : Template.Value;
        var bodyTemplate = string.Join('&', fields.Select(kv => Encode(kv.Key) + "=" + EncodeKeepingMarkers(kv.Value)));
        var signedTemplate = new StringBuilder(url.AbsoluteUri);
        foreach (var (name, value) in fields.OrderBy(kv => kv.Key, StringComparer.Ordinal)) signedTemplate.Append(name).Append(value);
        var signed = signedTemplate.ToString();
        var key = Encoding.UTF8.GetBytes(authToken);

        var first = sids.Reserve(count);
        var bodies = new byte[count][];
        var signatures = new string[count];
        Parallel.For(0, count, i =>
        {
            var sid = sids.Sid(first + i);
            var customer = Customer(i, customers);
            bodies[i] = Encoding.UTF8.GetBytes(bodyTemplate.Replace(SidMarker, sid, StringComparison.Ordinal).Replace(CustomerMarker, customer, StringComparison.Ordinal));
            signatures[i] = Convert.ToBase64String(HMACSHA1.HashData(key, Encoding.UTF8.GetBytes(
                signed.Replace(SidMarker, sid, StringComparison.Ordinal).Replace(CustomerMarker, customer, StringComparison.Ordinal))));
        });
        return new SignedRequests(url, bodies, signatures, first, sids);
    }

    public static HttpRequestMessage Request(Uri url, byte[] body, string signature)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = FormType;
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        request.Headers.TryAddWithoutValidation("X-Twilio-Signature", signature);
        return request;
    }

    /// <summary>The last digits of the customer's phone number: 6 digits, so every customer's number is equally long.</summary>
    private static string Customer(int index, int customers) => (index % Math.Max(1, customers)).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>From / WaId end in the customer marker instead of the fixture's last 6 digits.</summary>
    private static List<KeyValuePair<string, string>> WithCustomerMarker(List<KeyValuePair<string, string>> template)
    {
        var fields = template.ToList();
        foreach (var key in new[] { "From", "WaId" })
        {
            var index = fields.FindIndex(kv => kv.Key == key);
            if (index >= 0 && fields[index].Value.Length > 6) fields[index] = KeyValuePair.Create(key, fields[index].Value[..^6] + CustomerMarker);
        }
        return fields;
    }

    /// <summary>Encodes a value but leaves the SID and customer markers as they are (they are replaced by encoding-neutral text).</summary>
    private static string EncodeKeepingMarkers(string value) =>
        string.Join(SidMarker, value.Split(SidMarker).Select(part => string.Join(CustomerMarker, part.Split(CustomerMarker).Select(Encode))));

    /// <summary>application/x-www-form-urlencoded as FormUrlEncodedContent writes it.</summary>
    private static string Encode(string s) => Uri.EscapeDataString(s).Replace("%20", "+", StringComparison.Ordinal);

    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    private static int EncodedLength(List<KeyValuePair<string, string>> fields) =>
        fields.Sum(kv => Encode(kv.Key).Length + 1 + (kv.Value == SidMarker ? 34 : Encode(kv.Value).Length)) + fields.Count - 1;

    private static void Set(List<KeyValuePair<string, string>> fields, string key, string value)
    {
        var index = fields.FindIndex(kv => kv.Key == key);
        if (index < 0) fields.Add(KeyValuePair.Create(key, value));
        else fields[index] = KeyValuePair.Create(key, value);
    }
}

/// <summary>
/// Unique MessageSids for the whole run, spread like Twilio's: "SM" + 16 hex digits of a bijective mix of a counter
/// + a random 16-hex run id. Twilio's SIDs are random, so each new one lands on a random leaf of the unique MessageSid
/// index; until session 6 the bench used the counter itself, and every SID was appended to the index's last leaf, a
/// cost no real tenant gets.
/// </summary>
internal sealed class SidSource
{
    private readonly string _run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private long _next;

    public long Reserve(int count) => Interlocked.Add(ref _next, count) - count;

    public string Sid(long index) => "SM" + Mix((ulong)index).ToString("x16", System.Globalization.CultureInfo.InvariantCulture) + _run;

    /// <summary>SplitMix64's finalizer: every step is invertible, so distinct counters give distinct SIDs.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}

/// <summary>A pool of pre-signed requests; the load runners mark the ones answered 200.</summary>
internal sealed class SignedRequests(Uri url, byte[][] bodies, string[] signatures, long firstSid, SidSource sids)
{
    public Uri Url { get; } = url;
    public int Count => bodies.Length;
    public bool[] Acknowledged { get; } = new bool[bodies.Length];

    public HttpRequestMessage Create(int index) => Payloads.Request(Url, bodies[index], signatures[index]);

    public byte[] Body(int index) => bodies[index];

    public string Sid(int index) => sids.Sid(firstSid + index);

    public IEnumerable<string> AcknowledgedSids()
    {
        for (var i = 0; i < Count; i++)
            if (Acknowledged[i]) yield return Sid(i);
    }
}
