"""Stories of the account rules: the profile each action needs, the two sign-in factors and
their lockout, the reputation score and the credit limit (hand-computed cases)."""

from __future__ import annotations

from decimal import Decimal

import pyotp
import pytest

from engine.accounts.factors import (
    CODE_SECONDS,
    PasswordRefused,
    code_matches,
    hash_password,
    lockout_until,
    needs_rehash,
    new_code,
    new_totp_secret,
    password_matches,
    totp_step,
)
from engine.accounts.profile import (
    Address,
    Profile,
    ProfileRefused,
    completion,
    mask_phone,
    missing_for,
    normalise_phone,
)
from engine.accounts.reputation import WINDOW_SECONDS, credit_limit, score, wilson_lower_bound

NOW = 1_800_000_000.0
HOME = Address("home", ("12 Quay Street",), "GB", 55.97, -3.17)


# -- the profile


def test_a_phone_is_kept_in_e164_and_anything_else_is_refused_by_field():
    assert normalise_phone("+49 151 23456789") == "+4915123456789"
    assert normalise_phone("0151 23456789", region="de") == "+4915123456789"
    for raw, region in (("12345", None), ("not a phone", None), ("0151 23456789", None), ("+49 1", None)):
        with pytest.raises(ProfileRefused) as refused:
            normalise_phone(raw, region)
        assert refused.value.field == "phone"
    assert mask_phone("+4915123456789") == "+49 *********89"


def test_an_address_needs_a_place_and_its_coordinates():
    for bad in (
        {"label": " "},
        {"lines": ("", " ")},
        {"country": "GBR"},
        {"latitude": 91.0},
        {"longitude": -181.0},
    ):
        with pytest.raises(ProfileRefused):
            Address(
                **{"label": "home", "lines": ("1 A St",), "country": "GB", "latitude": 0.0, "longitude": 0.0, **bad}
            )


def test_each_action_names_what_it_still_needs_in_prompting_order():
    profile = Profile()
    assert missing_for(profile, "order") == ["name"]
    assert missing_for(profile, "pay_after_delivery") == [
        "name",
        "phone",
        "phone_verified",
        "default_address",
        "attested",
    ]
    profile.name, profile.phone = "Ada", "+4915123456789"
    assert missing_for(profile, "pickup") == ["phone_verified", "default_address"]
    profile.phone_verified = True
    profile.addresses["home"], profile.default_address = HOME, "home"
    assert missing_for(profile, "pickup") == [] and missing_for(profile, "pay_after_delivery") == ["attested"]
    profile.attested = True
    assert all(not missing for missing in completion(profile).values())
    profile.default_address = "office"  # a default that is not one of its addresses is none
    assert missing_for(profile, "pickup") == ["default_address"]
    with pytest.raises(KeyError):
        missing_for(profile, "fly")


# -- the password


def test_a_password_is_kept_as_argon2id_and_checked_without_telling_whether_the_account_exists():
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and not needs_rehash(stored)
    assert password_matches(stored, "correct horse battery")
    assert not password_matches(stored, "correct horse battery!")
    assert not password_matches(None, "correct horse battery")  # no account: a dummy hash is checked
    for weak in ("short", "aaaaaaaaaaaa", " padded password "):
        with pytest.raises(PasswordRefused):
            hash_password(weak)


# -- one-time codes


def test_an_sms_code_is_six_digits_valid_five_minutes_and_only_its_hash_is_kept():
    code, issued = new_code(NOW)
    assert len(code) == 6 and code.isdigit() and code not in (issued.salt, issued.digest)
    assert code_matches(issued, code, NOW + CODE_SECONDS - 1)
    assert not code_matches(issued, code, NOW + CODE_SECONDS)  # expired
    assert not code_matches(issued, f"{(int(code) + 1) % 10**6:06d}", NOW)
    from dataclasses import replace

    assert not code_matches(replace(issued, used=True), code, NOW)  # used once
    assert not code_matches(None, code, NOW)


def test_a_totp_code_is_accepted_once_and_one_step_of_drift_either_way():
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    step = totp_step(secret, totp.at(NOW), NOW, None)
    assert step == totp.timecode(NOW)
    assert totp_step(secret, totp.at(NOW), NOW, step) is None  # the same code again
    assert totp_step(secret, totp.at(NOW - 30), NOW, None) == step - 1  # the clock a step behind
    assert totp_step(secret, totp.at(NOW + 30), NOW, step) == step + 1
    assert totp_step(secret, totp.at(NOW - 90), NOW, None) is None  # too old
    assert totp_step(secret, "12345x", NOW, None) is None


def test_five_failures_lock_for_a_minute_doubling_up_to_an_hour():
    assert lockout_until(4, NOW) is None
    assert lockout_until(5, NOW) == NOW + 60
    assert lockout_until(6, NOW) == NOW + 120
    assert lockout_until(9, NOW) == NOW + 960
    assert lockout_until(12, NOW) == NOW + 3600 and lockout_until(40, NOW) == NOW + 3600


# -- reputation and the credit limit


def test_the_wilson_lower_bound_on_hand_computed_cases():
    assert wilson_lower_bound(0, 0) == 0.0
    # The lower root of (p - k/n)^2 = z^2 p (1 - p) / n, z = 1.959964: 9 of 10 gives 0.59585
    assert wilson_lower_bound(9, 10) == pytest.approx(0.59585, abs=1e-5)
    assert wilson_lower_bound(90, 100) == pytest.approx(0.825634, abs=1e-6)  # more history, higher bound
    assert wilson_lower_bound(1, 1) == pytest.approx(0.206549, abs=1e-6)  # one good deal is not trust yet
    assert wilson_lower_bound(0, 5) == 0.0
    with pytest.raises(ValueError):
        wilson_lower_bound(3, 2)


def test_the_score_counts_the_last_365_days_and_sets_the_credit_limit_by_identity_level():
    old = [(NOW - WINDOW_SECONDS - 1, False)] * 50  # a bad year long ago no longer counts
    recent = [(NOW - 86_400 * d, True) for d in range(90)] + [(NOW - 86_400 * d, False) for d in range(10)]
    result = score(old + recent, NOW)
    assert (result["positive"], result["negative"], result["score"]) == (90, 10, Decimal("0.825634"))
    assert score([], NOW)["score"] == Decimal("0")
    assert credit_limit(0, result["score"]) == 0  # not attested: nothing after delivery
    assert credit_limit(1, result["score"]) == 165_126_800  # 200,000,000 x 0.825634
    assert credit_limit(2, Decimal("1")) == 2_000_000_000
