"""Accounts for end-to-end tests: registered, the phone verified with the code the local outbox
holds, signed in; and a wallet holder's account completed (and attested) for the actions that
need a complete profile."""

from __future__ import annotations

from pathlib import Path

from api.client import Holder
from api.client.group_buy import sign_in_message
from api.client.holder import answer, sign_transaction
from engine.accounts.sms import Outbox

PASSWORD = "correct horse battery"
PHONE = "+44 7911 123456"
HOME = {"lines": ["12 High Street", "Edinburgh EH1 1AA"], "country": "GB", "latitude": 55.95, "longitude": -3.19}


def last_code(tmp_path: Path, to: str = "+447911123456") -> str:
    """The code of the newest message the local outbox holds for a phone."""
    code = Outbox(Path(tmp_path) / "sms-outbox.jsonl").latest_code(to)
    assert code is not None, f"no code was sent to {to}"
    return code


def new_account(client, tmp_path, login="ada@example.org", phone=PHONE, path="/accounts", headers=None, **extra):
    r = client.post(path, json={"login": login, "password": PASSWORD, "phone": phone, **extra}, headers=headers)
    assert r.status_code == 201, r.text
    to = "+" + "".join(c for c in phone if c.isdigit())
    r = client.post("/accounts/verify-phone", json={"login": login, "code": last_code(tmp_path, to)})
    assert r.status_code == 200, r.text
    return to


def sign_in(client, tmp_path, login="ada@example.org", to="+447911123456", kind="bearer") -> dict:
    assert client.post("/accounts/sign-in/code", json={"login": login}).status_code == 202
    r = client.post(
        "/accounts/sign-in", json={"login": login, "password": PASSWORD, "code": last_code(tmp_path, to), "kind": kind}
    )
    assert r.status_code == 200, r.text
    return r.json()


def bearer(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['token']}"}


def account_for(
    client, service, holder: Holder, tmp_path: Path, login: str, attested: bool = False, phone: str = PHONE
) -> dict:
    """An account for a wallet holder, complete for a pickup (name, verified phone, a default
    address) and bound to the holder's wallet; attested on chain by the operator (dev account
    0) when asked: what a loan purchase needs. Returns its session's headers."""
    to = new_account(client, tmp_path, login, phone)
    headers = bearer(sign_in(client, tmp_path, login, to))
    answer(client.patch("/accounts/me", json={"name": login.title()}, headers=headers))
    answer(client.put("/accounts/me/addresses/home", json=HOME, headers=headers))
    answer(client.post("/accounts/me/wallet", json=sign_in_message(holder), headers=headers))
    if attested:
        attest_account(client, service, login)
    return headers


def attest_account(client, service, login: str, level: int = 1, valid_for: int = 3600, operator=None) -> dict:
    """The operator (by default dev account 0, the attester the deployment trusts) attests the
    account's current record on chain; the engine has read it when this returns."""
    from tests.e2e.conftest import ADMIN_HEADERS, dev_account

    operator = operator or dev_account(0)
    built = answer(
        client.post(
            f"/operator/accounts/{login}/attestation",
            json={"attester": operator.address, "level": level, "valid_for": valid_for},
            headers=ADMIN_HEADERS,
        )
    )
    outcome = answer(client.post("/tx", json={"raw": sign_transaction(operator, built["transaction"]), "wait": 10}))
    assert outcome["status"] == "success", outcome
    service.step()
    return built
