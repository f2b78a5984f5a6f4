"""Waybill (tracking number) checks: each courier's format and, where one is published, its
check digit (the seed's waybill comparison starts here).

- **UPU S10** (postal items, EMS): two letters of service, eight digits, a check digit, the
  ISO 3166 country of the issuing post. The digits are weighted 8 6 4 2 3 5 9 7; the check is
  11 less the weighted sum's remainder mod 11, with 10 written 0 and 11 written 5.
- **UPS** ``1Z``: six characters of shipper account, two of service, seven of package, one
  check digit over those fifteen: letters count ``(code - 3) mod 10``, every second character
  doubled, the check completes the sum to a multiple of 10.
- **FedEx Express** (12 digits): the first eleven weighted 3 1 7 3 1 7 ...; the weighted sum
  mod 11 mod 10 is the twelfth.
- **DHL Express** (10 or 11 digits): the number without its last digit, mod 7, is the last digit.
- Couriers that publish no check digit are checked by their format only (a regular expression
  kept with the courier).

A number is compared as typed without spaces, in capitals. :func:`check` answers the
normalised number or raises :class:`WaybillRefused` with the reason.
"""

from __future__ import annotations

import re

import phonenumbers

SCHEMES = ("s10", "ups", "fedex_express", "dhl_express", "format")
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
FEDEX_WEIGHTS = (3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1)
# ISO 3166 alpha-2 regions (the ones phone numbers are issued for) and the UPU's own codes.
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"UN"}
PATTERNS = {
    "s10": re.compile(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}$"),
    "ups": re.compile(r"^1Z[A-Z0-9]{16}$"),
    "fedex_express": re.compile(r"^[0-9]{12}$"),
    "dhl_express": re.compile(r"^[0-9]{10,11}$"),
}
MAX_LENGTH = 40


class WaybillRefused(ValueError):
    """A waybill number that is not one of its courier's (the reason says why)."""


def normalise(number: str) -> str:
    return "".join(number.split()).upper()


def s10_check_digit(serial: str) -> int:
    remainder = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS)) % 11
    return {0: 5, 1: 0}.get(remainder, 11 - remainder)


def ups_check_digit(body: str) -> int:
    total = 0
    for i, c in enumerate(body):
        value = int(c) if c.isdigit() else (ord(c) - 3) % 10
        total += value * (2 if i % 2 else 1)
    return (10 - total % 10) % 10


def fedex_check_digit(first_eleven: str) -> int:
    return sum(int(d) * w for d, w in zip(first_eleven, FEDEX_WEIGHTS)) % 11 % 10


def dhl_check_digit(serial: str) -> int:
    return int(serial) % 7


def check(scheme: str, number: str, pattern: str | None = None) -> str:
    """The normalised number if it is a valid waybill under ``scheme`` (``pattern``: the
    courier's format, for ``format``), else :class:`WaybillRefused`."""
    text = normalise(number)
    if not text or len(text) > MAX_LENGTH:
        raise WaybillRefused(f"a waybill number has 1 to {MAX_LENGTH} characters")
    if scheme == "format":
        if pattern is None:
            raise WaybillRefused("this courier's format is not known")
        if re.fullmatch(pattern, text) is None:
            raise WaybillRefused(f"not in this courier's format ({pattern})")
        return text
    if scheme not in PATTERNS:
        raise WaybillRefused(f"no waybill scheme {scheme!r}: one of {', '.join(SCHEMES)}")
    if PATTERNS[scheme].fullmatch(text) is None:
        raise WaybillRefused(f"not a {scheme} number (format {PATTERNS[scheme].pattern})")
    if scheme == "s10":
        if text[-2:] not in COUNTRIES:
            raise WaybillRefused(f"{text[-2:]} is no country code of a post")
        expected, given = s10_check_digit(text[2:10]), int(text[10])
    elif scheme == "ups":
        expected, given = ups_check_digit(text[2:17]), int(text[17]) if text[17].isdigit() else -1
    elif scheme == "fedex_express":
        expected, given = fedex_check_digit(text[:11]), int(text[11])
    else:
        expected, given = dhl_check_digit(text[:-1]), int(text[-1])
    if expected != given:
        raise WaybillRefused(f"the check digit does not match (the number is mistyped or made up): expected {expected}")
    return text
