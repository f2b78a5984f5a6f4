"""Given a courier's waybill scheme, when a store declares a number, then a well-formed number
with its check digit passes (spaces and case forgiven) and a mistyped or made-up one is refused
with the reason. The numbers are the couriers' published examples."""

from __future__ import annotations

import pytest

from engine.delivery.waybill import WaybillRefused, check

VALID = {
    "s10": ["RB123456785GB", "RB123456785US", " R B 1 2 3 4 5 6 7 8 5 C F ", "rb123456785gb"],
    "ups": ["1Z5R89390357567127", "1Z879E930346834440", "1Z410E7W0392751591", "1Z8V92A70367203024"],
    "fedex_express": ["986578788855", "477179081230", "799531274483", "790535312317", "974367662710"],
    "dhl_express": ["3318810025", "73891051146", "8487135506", "1099255990", "3821724944", "3318810036"],
}
INVALID = {
    "s10": [("RB123456786US", "check digit"), ("RB123456785XX", "no country code"), ("RB12345678GB", "not a s10")],
    "ups": [
        ("2Z5R89390357567127", "not a ups"),
        ("1A5R89390357567127", "not a ups"),
        ("1Z1111111111111111", "check digit"),
    ],
    "fedex_express": [("996578788855", "check digit"), ("98657878885", "not a fedex_express")],
    "dhl_express": [("3318810010", "check digit"), ("3318810034", "check digit"), ("33188100", "not a dhl_express")],
}


@pytest.mark.parametrize("scheme, number", [(s, n) for s, ns in VALID.items() for n in ns])
def test_a_published_number_passes_normalised(scheme, number):
    assert check(scheme, number) == "".join(number.split()).upper()


@pytest.mark.parametrize("scheme, number, reason", [(s, n, r) for s, cases in INVALID.items() for n, r in cases])
def test_a_mistyped_or_made_up_number_is_refused_with_its_reason(scheme, number, reason):
    with pytest.raises(WaybillRefused, match=reason):
        check(scheme, number)


def test_one_changed_digit_of_any_valid_number_is_caught():
    for scheme in ("s10", "fedex_express", "dhl_express"):
        for number in VALID[scheme]:
            text = "".join(number.split()).upper()
            digits = [i for i, c in enumerate(text) if c.isdigit()]
            i = digits[len(digits) // 2]
            changed = text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]
            with pytest.raises(WaybillRefused):
                check(scheme, changed)


def test_a_courier_without_a_check_digit_is_checked_by_its_format_only():
    assert check("format", "sf 1234 5678 9012", r"SF[0-9]{12}") == "SF123456789012"
    with pytest.raises(WaybillRefused, match="format"):
        check("format", "SF12345", r"SF[0-9]{12}")
    with pytest.raises(WaybillRefused, match="scheme"):
        check("royal-mail", "RB123456785GB")
