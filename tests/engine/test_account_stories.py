"""Given/when/then stories of an account: registration, profile completion with its prompts,
phone verification, the two sign-in factors with their lockout, locking and closing; and the
account saved and loaded again from a real event store."""

from __future__ import annotations

import pyotp
import pytest

from engine.accounts.account import Account, AccountRefused
from engine.accounts.factors import CODE_SECONDS, hash_password
from engine.accounts.profile import Address, ProfileRefused, missing_for

NOW = 1_800_000_000.0
PASSWORD = "correct horse battery"
HASH = hash_password(PASSWORD)
HOME = Address("home", ("12 Quay Street", "Leith"), "gb", 55.97, -3.17)


def buyer(login: str = "ada@example.org") -> Account:
    return Account.register(login, "buyer", HASH)


def verified(account: Account) -> Account:
    account.set_phone("+44 7911 123456")
    assert account.verify_phone(account.issue_code("verify_phone", NOW), NOW)
    return account


def test_registration_names_a_role_and_store_staff_name_their_store():
    account = Account.register("  Ada@Example.org ", "buyer", HASH)
    assert (account.login, account.role, account.store_id) == ("ada@example.org", "buyer", None)
    assert account.id == Account.create_id("ADA@example.org")  # one account per login, whatever its case
    assert Account.register("sam", "store_staff", HASH, store_id="corner-shop").store_id == "corner-shop"
    for role, store in (("pirate", None), ("store_staff", None), ("buyer", "corner-shop")):
        with pytest.raises(AccountRefused):
            Account.register("sam", role, HASH, store_id=store)
    with pytest.raises(AccountRefused):
        Account.register("a b", "buyer", HASH)


def test_a_profile_is_completed_step_by_step_and_each_action_prompts_for_the_rest():
    account = buyer()
    assert missing_for(account.profile(), "pickup") == ["name", "phone", "phone_verified", "default_address"]
    account.change_profile(name="Ada Lovelace")
    account.set_phone("07911 123456", region="GB")
    assert account.phone == "+447911123456" and not account.phone_verified
    assert missing_for(account.profile(), "pickup") == ["phone_verified", "default_address"]
    code = account.issue_code("verify_phone", NOW)
    assert not account.verify_phone("000000" if code != "000000" else "111111", NOW)
    assert account.verify_phone(code, NOW) and account.phone_verified
    assert not account.verify_phone(code, NOW)  # used once
    account.save_address(HOME)  # the first address is the default
    account.save_address(Address("office", ("1 Dock Place",), "GB", 55.98, -3.17))
    assert account.default_address == "home"
    assert missing_for(account.profile(), "pickup") == []
    assert missing_for(account.profile(), "pay_after_delivery") == ["attested"]
    assert missing_for(account.profile(attested=True), "pay_after_delivery") == []
    account.remove_address("home")
    assert account.default_address == "office"
    account.set_phone("+44 7911 123457")  # a new phone waits for its code; the verified one stays
    assert account.phone == "+447911123456" and account.pending_phone == "+447911123457"
    assert missing_for(account.profile(), "pickup") == []
    code = account.issue_code("verify_phone", NOW + 60)
    assert account.verify_phone(code, NOW + 61)
    assert account.phone == "+447911123457" and account.pending_phone is None and account.phone_verified


def test_a_code_expires_after_five_minutes_and_codes_need_a_phone():
    account = buyer()
    with pytest.raises(ProfileRefused):
        account.issue_code("verify_phone", NOW)
    account.set_phone("+44 7911 123456")
    with pytest.raises(ProfileRefused):
        account.issue_code("sign_in", NOW)  # not verified yet
    code = account.issue_code("verify_phone", NOW)
    assert not account.verify_phone(code, NOW + CODE_SECONDS)


def test_signing_in_needs_the_password_and_the_sms_code_both_and_each_code_once():
    account = verified(buyer())
    code = account.issue_code("sign_in", NOW)
    assert not account.sign_in(PASSWORD, "", NOW)  # the password alone
    assert not account.sign_in("wrong password!", code, NOW)  # the code alone
    assert account.sign_in(PASSWORD, code, NOW) and account.failures == 0
    assert not account.sign_in(PASSWORD, code, NOW + 1)  # the same code again


def test_an_authenticator_replaces_the_sms_code_and_never_accepts_a_code_twice():
    account = verified(Account.register("sam", "store_staff", HASH, store_id="corner-shop"))
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    assert not account.enrol_totp(secret, "123456" if totp.at(NOW) != "123456" else "654321", NOW)
    assert account.enrol_totp(secret, totp.at(NOW), NOW)
    later = NOW + 30
    assert not account.sign_in(PASSWORD, totp.at(NOW), later)  # the enrolment's code: already used
    assert account.sign_in(PASSWORD, totp.at(later), later)
    assert not account.sign_in(PASSWORD, totp.at(later), later + 1)


def test_five_failures_lock_the_account_with_a_growing_pause_and_a_success_clears_them():
    account = verified(buyer())
    for i in range(5):
        assert not account.sign_in("wrong password!", "000000", NOW + i)
    assert account.locked_until(NOW + 5) == NOW + 4 + 60
    code = account.issue_code("sign_in", NOW + 10)
    assert not account.sign_in(PASSWORD, code, NOW + 10)  # right factors, but locked: a sixth failure
    assert account.locked_until(NOW + 11) == NOW + 10 + 120
    code = account.issue_code("sign_in", NOW + 200)
    assert account.sign_in(PASSWORD, code, NOW + 200) and account.failures == 0


def test_a_locked_or_closed_account_does_nothing():
    account = verified(buyer())
    account.lock("chargeback under review")
    code = account.issue_code("sign_in", NOW)
    assert not account.sign_in(PASSWORD, code, NOW)
    account.close()
    for command in (
        lambda: account.change_profile(name="X"),
        lambda: account.set_phone("+44 7911 123456"),
        lambda: account.bind_wallet("0x" + "11" * 20),
        account.close,
    ):
        with pytest.raises(AccountRefused):
            command()


def test_an_account_saved_in_the_event_store_loads_with_its_history(tmp_path):
    from engine.application import OrderEngine
    from engine.config import Settings

    settings = Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path))
    app = OrderEngine(settings)
    account = verified(buyer())
    account.change_profile(name="Ada Lovelace")
    account.save_address(HOME)
    account.bind_wallet("0x" + "AB" * 20)
    code = account.issue_code("sign_in", NOW)
    assert not account.sign_in(PASSWORD, "999999" if code != "999999" else "888888", NOW)
    app.save(account)
    app.close()
    again = OrderEngine(settings)
    loaded = again.repository.get(Account.create_id("ada@example.org"))
    assert (loaded.name, loaded.phone, loaded.phone_verified, loaded.wallet) == (
        "Ada Lovelace",
        "+447911123456",
        True,
        "0x" + "ab" * 20,
    )
    assert loaded.failures == 1 and loaded.sign_in(PASSWORD, code, NOW + 1)
    assert code not in str(loaded.codes)  # only the code's hash was kept
