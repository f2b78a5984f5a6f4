"""The engine's account commands on a real event store: registration, the sign-in code,
signing in with both factors, failures that count across engine instances, and one answer
for every refusal."""

from __future__ import annotations

import pytest

from engine.accounts.factors import SignInRefused
from engine.application import Conflict, NotFound, OrderEngine
from engine.config import Settings

NOW = 1_800_000_000.0
PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path):
    return Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path))


def with_verified_phone(app: OrderEngine, login: str) -> None:
    account = app.get_account(login)
    account.set_phone("+44 7911 123456")
    code = account.issue_code("verify_phone", NOW)
    assert account.verify_phone(code, NOW)
    app.save(account)


def test_an_account_registers_once_and_signs_in_with_both_factors(settings):
    app = OrderEngine(settings)
    app.register_account("ada@example.org", "buyer", PASSWORD)
    with pytest.raises(Conflict):
        app.register_account("ADA@example.org", "buyer", PASSWORD)
    with pytest.raises(NotFound):
        app.register_account("sam", "store_staff", PASSWORD, store_id="no-such-shop")
    assert app.sign_in_code("ada@example.org", NOW) is None  # no verified phone yet
    with_verified_phone(app, "ada@example.org")
    phone, code, message_id = app.sign_in_code("ada@example.org", NOW)
    assert phone == "+447911123456" and len(code) == 6 and message_id.startswith("code-")
    assert app.sign_in_code("ada@example.org", NOW + 5) is None  # asked again moments later: the code sent holds
    account = app.sign_in_account("ada@example.org", PASSWORD, code, NOW + 1)
    assert account.failures == 0
    with pytest.raises(SignInRefused):
        app.sign_in_account("ada@example.org", PASSWORD, code, NOW + 2)  # the code was used


def test_every_refusal_is_the_same_and_failures_count_across_engines(settings):
    app = OrderEngine(settings)
    app.register_account("ada@example.org", "buyer", PASSWORD)
    with_verified_phone(app, "ada@example.org")
    refusals = []
    for login, password in (
        ("nobody@example.org", PASSWORD),
        ("ada@example.org", "wrong password!"),
        ("a b", PASSWORD),
    ):
        with pytest.raises(SignInRefused) as refused:
            app.sign_in_account(login, password, "123456", NOW)
        refusals.append(str(refused.value))
    assert set(refusals) == {"sign-in refused"}
    other = OrderEngine(settings)  # another process on the same event store
    for i in range(4):
        with pytest.raises(SignInRefused):
            other.sign_in_account("ada@example.org", "wrong password!", "123456", NOW + i)
    assert app.get_account("ada@example.org").failures == 5
    _, code, _ = app.sign_in_code("ada@example.org", NOW + 10)
    with pytest.raises(SignInRefused):  # locked out: the right factors are refused too
        app.sign_in_account("ada@example.org", PASSWORD, code, NOW + 10)
