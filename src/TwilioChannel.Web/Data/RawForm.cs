using System.Text.Json;
using System.Text.Encodings.Web;

namespace TwilioChannel.Web.Data;

/// <summary>
/// A message's raw form as stored (Messages.RawForm): JSON with accented, Arabic or Cyrillic letters and "+" kept as
/// their own UTF-8 bytes instead of 6-byte \u escapes (emoji stay escaped), so the column stays readable and smaller:
/// the bench's Portuguese WhatsApp form takes 627 bytes instead of 661, an Arabic body a third of its escaped size.
/// The column is only read back by the service's own JSON parser, never into an HTML page, so HTML-sensitive
/// characters need no escaping. Both spellings parse the same: rows stored before this change read back unchanged.
/// </summary>
internal static class RawForm
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize(IReadOnlyDictionary<string, string> form) => JsonSerializer.Serialize(form, Options);
}
