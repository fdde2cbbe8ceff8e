using System.Data.Common;

namespace TwilioChannel.Web.Data;

/// <summary>
/// Times read by our raw statements. Every DateTime column holds UTC (EF writes it so, and ChannelDbContext converts on
/// the way back), but SQLite hands a raw read back unspecified, and serialising that for Desk converted it as local
/// time: hours off on a server outside UTC (one reader had forgotten). Raw readers go through here.
/// </summary>
internal static class UtcReader
{
    public static DateTime GetUtcDateTime(this DbDataReader reader, int ordinal) =>
        DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc);

    public static DateTime? GetUtcDateTimeOrNull(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetUtcDateTime(ordinal);
}
