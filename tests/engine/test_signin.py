"""Sign-in with Ethereum: a good message signs in once; anything else is refused at a cost
that grows with its length no faster than a line (the ``siwe`` ABNF parser took 42 s for
4,000 characters; every refusal here must take milliseconds)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st
from siwe import SiweMessage

from engine.db import Database
from engine.signin import MAX_MESSAGE, SignIn, SignInRefused

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
ACCOUNT = Account.from_key("0x" + "5a" * 32)  # a fixed key: the test ids stay the same in every process
WORST = 0.25  # seconds for a refusal at the cap (the quadratic parser took 0.6 s at 250 characters, 23 s at 2,000)


@pytest.fixture
def signin(tmp_path):
    return SignIn(Database(str(tmp_path / "views.sqlite")), "shop.example", 31337)


def message(nonce: str, statement: str = "Sign in to order", **extra) -> str:
    return SiweMessage(
        domain="shop.example",
        address=ACCOUNT.address,
        statement=statement,
        uri="https://shop.example/",
        version="1",
        chain_id=31337,
        nonce=nonce,
        issued_at=NOW.isoformat().replace("+00:00", "Z"),
        **extra,
    ).prepare_message()


def signature(text: str) -> str:
    return "0x" + bytes(ACCOUNT.sign_message(encode_defunct(text=text)).signature).hex()


def test_a_signed_message_signs_in_once(signin):
    nonce = signin.nonce(NOW)["nonce"]
    text = message(
        nonce,
        resources=["https://shop.example/terms"],
        expiration_time=(NOW + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
    )
    session = signin.sign_in(text, signature(text), NOW)
    assert session["address"] == ACCOUNT.address.lower()
    assert session["expires_at"] == int((NOW + timedelta(minutes=30)).timestamp())
    with pytest.raises(SignInRefused, match="nonce"):
        signin.sign_in(text, signature(text), NOW)


def test_a_message_changed_after_signing_is_refused(signin):
    nonce = signin.nonce(NOW)["nonce"]
    text = message(nonce)
    with pytest.raises(SignInRefused, match="does not hold"):
        signin.sign_in(text.replace("Sign in to order", "Sign in to pay"), signature(text), NOW)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("a" * (MAX_MESSAGE + 1), "at most"),
        ("shop.example wants you to sign in with your Ethereum account:\n" + "\n" * 40, "lines"),
        ("hello\n" + ACCOUNT.address, "begins with"),
        ("shop.example wants you to sign in with your Ethereum account:\nnot an address", "begins with"),
    ],
)
def test_what_cannot_be_a_message_is_refused_by_its_shape(signin, text, reason):
    with pytest.raises(SignInRefused, match=reason):
        signin.verify(text, "0x" + "00" * 65, NOW)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    body=st.text(max_size=MAX_MESSAGE),
    statement=st.text(alphabet="abc .,-", max_size=MAX_MESSAGE - 400),
    headed=st.booleans(),
)
def test_refusing_any_text_up_to_the_cap_takes_milliseconds(tmp_path_factory, body, statement, headed):
    signin = SignIn(Database(str(tmp_path_factory.mktemp("s") / "v.sqlite")), "shop.example", 31337)
    text = message("abcdefgh12", statement=statement or "x") + "\n" + body if headed else body
    started = time.perf_counter()
    with pytest.raises(SignInRefused):
        signin.verify(text[:MAX_MESSAGE], "0x" + "00" * 65, NOW)
    assert time.perf_counter() - started < WORST, len(text)
