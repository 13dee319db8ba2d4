"""The time zones a phone number implies (its country and area code), by the `phonenumbers` library.

A borrower may be wherever their phone is: a New York (212) mobile with a California address may be
answered in New York. The dispatcher's gate checks the contact hours in every such zone
(`arrears.domain.compliance.contact_zones`); only the zones leave this module, never the number.
"""

from __future__ import annotations

from functools import lru_cache

UNKNOWN_ZONE = "Etc/Unknown"  # what phonenumbers answers for a number it cannot place


@lru_cache(maxsize=4096)
def zones_of_number(number: str) -> tuple[str, ...]:
    """The IANA zones of an E.164 number (`+12125550123` -> `("America/New_York",)`), sorted.

    Empty for an empty, unparseable or unplaceable number (the address zone still applies). A number
    whose area code spans several zones (some US area codes) gives all of them.
    """
    if not number:
        return ()
    # Imported on the first number, not with the module: the library and its zone metadata are
    # paid by the first contact judged, not by every cold import of a handler that may judge one.
    import phonenumbers
    from phonenumbers import timezone as number_timezones

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = number_timezones.time_zones_for_number(parsed)
    return tuple(sorted(zone for zone in zones if zone != UNKNOWN_ZONE))
