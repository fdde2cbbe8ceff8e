using PhoneNumbers;
using TwilioChannel.Domain.Addresses;

namespace TwilioChannel.Web.Admin;

/// <summary>Normalises an admin's number ("+1 (415) 555-0100", "whatsapp:+14155238886") to Twilio's form with
/// libphonenumber; anything that isn't a possible E.164 number is refused.</summary>
internal static class PhoneAddress
{
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    public static bool TryNormalize(string input, out ChannelAddress address)
    {
        address = ChannelAddress.Parse(input);
        var phone = address.Phone;
        if (!phone.StartsWith('+') || phone.Length > 32) return false;
        try
        {
            var parsed = Util.Parse(phone, null);
            if (!Util.IsPossibleNumber(parsed)) return false;
            address = address with { Phone = Util.Format(parsed, PhoneNumberFormat.E164) };
            return true;
        }
        catch (NumberParseException)
        {
            return false;
        }
    }
}
