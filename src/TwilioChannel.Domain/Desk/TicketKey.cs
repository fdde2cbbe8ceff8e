using TwilioChannel.Domain.Addresses;

namespace TwilioChannel.Domain.Desk;

/// <summary>
/// One ticket per (org, customer address). The ticket extId is the customer's address as Twilio writes it
/// ("+14155550123", "whatsapp:+5511987654321"), so a Desk admin recognises it and replies find their customer.
/// A conversation that later starts afresh (e.g. after long inactivity, off by default) gets a generation: generation 1
/// is the bare address, generation n ≥ 2 is "address#n". '#' never occurs in an encoded address (see <see cref="ExtId"/>),
/// so existing tickets keep their extIds forever and new generations can't collide with them.
/// </summary>
public readonly record struct TicketKey(string CustomerAddress, int Generation = 1)
{
    public string ExtId => Desk.ExtId.Part(Desk.ExtId.Encode(CustomerAddress), Generation);

    /// <summary>
    /// The ticket one of our extIds names; false for anything we never hand out as a ticket extId: a customer that is
    /// not a phone address (<see cref="ChannelAddress.IsPhoneAddress"/>), a malformed escape, or another spelling of one
    /// of ours ("#1", "#02", an escaped '+'), so a reply never goes to an address Desk was not given by us.
    /// </summary>
    public static bool TryParse(string extId, out TicketKey key)
    {
        try
        {
            key = Parse(extId);
        }
        catch (FormatException)
        {
            key = default;
            return false;
        }
        if (ChannelAddress.IsPhoneAddress(key.CustomerAddress) && key.ExtId == extId) return true;
        key = default;
        return false;
    }

    public static TicketKey Parse(string extId)
    {
        var hash = extId.LastIndexOf(Desk.ExtId.Separator);
        if (hash > 0 && int.TryParse(extId.AsSpan(hash + 1), System.Globalization.NumberStyles.None, null, out var generation) && generation >= 2)
            return new TicketKey(Desk.ExtId.Decode(extId[..hash]), generation);
        return new TicketKey(Desk.ExtId.Decode(extId), 1);
    }
}
