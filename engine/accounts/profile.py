"""The profile a person completes themselves, prompted for what is missing (the seed's
identity verification system), and what each action needs of it.

A phone is kept in E.164 (parsed and validated with ``phonenumbers``); a delivery address
carries its coordinates; an account has several addresses and one default. An action that
needs a complete, verified profile is refused naming every missing field, so the client can
prompt for exactly those (:func:`missing_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import phonenumbers

# What each action needs of the profile, in the order a client prompts for it.
NEEDS: dict[str, tuple[str, ...]] = {
    "order": ("name",),
    "pay_after_delivery": ("name", "phone", "phone_verified", "default_address", "attested"),
    "loan_purchase": ("name", "phone", "phone_verified", "attested"),
    "pickup": ("name", "phone", "phone_verified", "default_address"),
    # What the operator needs before attesting an identity on chain.
    "attestation": ("name", "phone", "phone_verified", "default_address"),
}
MAX_ADDRESSES = 20


class ProfileRefused(ValueError):
    """A profile field that is not acceptable (a phone that is no number, an address with no place)."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


class ProfileIncomplete(ValueError):
    """An action the profile is not complete (or not verified) enough for: ``missing`` names
    every field to prompt for, in order."""

    def __init__(self, action: str, missing: list[str]):
        if missing == ["account"]:
            text = f"to {action.replace('_', ' ')}, bind this wallet to an account with a complete profile first"
        else:
            text = f"to {action.replace('_', ' ')}, the profile needs: {', '.join(missing)}"
        super().__init__(text)
        self.action = action
        self.missing = missing


def normalise_phone(raw: str, region: str | None = None) -> str:
    """The phone in E.164 (``+4915112345678``); a national number needs its ``region`` (ISO 3166
    alpha-2, ``DE``). :class:`ProfileRefused` for anything that is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise ProfileRefused("phone", f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ProfileRefused("phone", "not a valid number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """A phone as a store sees a buyer's: the country code and the last two digits."""
    number = phonenumbers.parse(e164)
    national = str(number.national_number)
    return f"+{number.country_code} {'*' * max(0, len(national) - 2)}{national[-2:]}"


@dataclass(frozen=True)
class Address:
    """A delivery address with its coordinates (WGS 84 degrees)."""

    label: str
    lines: tuple[str, ...]
    country: str
    latitude: float
    longitude: float

    def __post_init__(self):
        if not self.label.strip():
            raise ProfileRefused("addresses.label", "an address needs a label")
        if not any(line.strip() for line in self.lines):
            raise ProfileRefused("addresses.lines", "an address needs at least one line")
        if len(self.country) != 2 or not self.country.isalpha():
            raise ProfileRefused("addresses.country", "an ISO 3166 alpha-2 country code")
        if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):
            raise ProfileRefused("addresses.coordinates", "latitude within ±90, longitude within ±180")


@dataclass
class Profile:
    """What an account told about itself, and what was verified."""

    name: str | None = None
    phone: str | None = None  # E.164
    phone_verified: bool = False
    company: str | None = None
    addresses: dict[str, Address] = field(default_factory=dict)  # by label
    default_address: str | None = None  # a label
    attested: bool = False  # the operator attested it on chain (an identity level above 0)


def present(profile: Profile) -> dict[str, bool]:
    """Each field a need may name, and whether the profile has it."""
    return {
        "name": bool(profile.name and profile.name.strip()),
        "phone": profile.phone is not None,
        "phone_verified": profile.phone is not None and profile.phone_verified,
        "default_address": profile.default_address is not None and profile.default_address in profile.addresses,
        "attested": profile.attested,
    }


def missing_for(profile: Profile, action: str) -> list[str]:
    """The fields ``action`` needs that the profile lacks, in prompting order (empty: allowed)."""
    if action not in NEEDS:
        raise KeyError(f"no action {action!r}: one of {', '.join(NEEDS)}")
    have = present(profile)
    return [name for name in NEEDS[action] if not have[name]]


def completion(profile: Profile) -> dict[str, list[str]]:
    """For every action, what is missing: what a client shows as its prompts."""
    return {action: missing_for(profile, action) for action in NEEDS}


def require(profile: Profile, action: str) -> None:
    """:class:`ProfileIncomplete` unless the profile has everything ``action`` needs."""
    missing = missing_for(profile, action)
    if missing:
        raise ProfileIncomplete(action, missing)
