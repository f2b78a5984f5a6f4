"""Accounts through the API: registration with a phone verified by the code sent to it,
signing in with both factors (SMS code or authenticator), sessions as bearer tokens and
browser cookies, store staff sessions standing in for the store's key, a bound wallet
signing in, the profile's prompts, and the export."""

from __future__ import annotations

import json
import time

import pyotp
import pytest

from api.client import Holder
from api.client.group_buy import sign_in_message
from tests.e2e.accounts import HOME, PASSWORD, PHONE, bearer, last_code, new_account, sign_in
from tests.e2e.conftest import ADMIN_HEADERS, dev_account, register


def test_a_buyer_registers_verifies_its_phone_and_signs_in_with_both_factors(client, tmp_path):
    r = client.post("/accounts", json={"login": "ada@example.org", "password": PASSWORD, "phone": PHONE})
    assert r.status_code == 201, r.text
    assert r.json()["sent_to"] == "+44 ********56" and r.json()["role"] == "buyer"
    again = client.post("/accounts", json={"login": "ADA@example.org", "password": PASSWORD, "phone": PHONE})
    assert again.status_code == 409
    weak = client.post("/accounts", json={"login": "bob@example.org", "password": "short", "phone": PHONE})
    assert weak.status_code == 422
    bad_phone = client.post("/accounts", json={"login": "bob@example.org", "password": PASSWORD, "phone": "+44 12"})
    assert bad_phone.status_code == 422 and bad_phone.json()["field"] == "phone"
    assert client.post("/accounts/sign-in/code", json={"login": "bob@example.org"}).status_code == 202
    wrong = client.post("/accounts/verify-phone", json={"login": "ada@example.org", "code": "000000"})
    unknown = client.post("/accounts/verify-phone", json={"login": "nobody@example.org", "code": "000000"})
    assert wrong.status_code == unknown.status_code == 422 and wrong.json()["detail"] == unknown.json()["detail"]
    code = last_code(tmp_path)
    assert client.post("/accounts/verify-phone", json={"login": "ada@example.org", "code": code}).status_code == 200

    # Every refusal is the same answer: unknown login, wrong password, wrong or reused code.
    sent = client.post("/accounts/sign-in/code", json={"login": "ada@example.org"})
    nobody = client.post("/accounts/sign-in/code", json={"login": "nobody@example.org"})
    assert sent.status_code == nobody.status_code == 202 and sent.json() == nobody.json()
    code = last_code(tmp_path)
    refusals = [
        client.post("/accounts/sign-in", json={"login": "nobody@example.org", "password": PASSWORD, "code": code}),
        client.post("/accounts/sign-in", json={"login": "ada@example.org", "password": "wrong password", "code": code}),
        client.post("/accounts/sign-in", json={"login": "ada@example.org", "password": PASSWORD, "code": "12"}),
    ]
    assert {(r.status_code, r.json()["detail"]) for r in refusals} == {(401, "sign-in refused")}
    r = client.post("/accounts/sign-in", json={"login": "ada@example.org", "password": PASSWORD, "code": code})
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["token"].startswith("ocacct_") and session["factor"] == "sms" and session["kind"] == "bearer"
    assert 0 < session["expires_at"] - time.time() <= 900
    reused = client.post("/accounts/sign-in", json={"login": "ada@example.org", "password": PASSWORD, "code": code})
    assert reused.status_code == 401 and reused.json()["detail"] == "sign-in refused"

    me = client.get("/accounts/me", headers=bearer(session)).json()
    assert me["phone"] == "+447911123456" and me["phone_verified"] and me["second_factor"] == "sms"
    assert me["missing"]["pickup"] == ["name", "default_address"]
    assert client.get("/accounts/me").status_code == 401

    # Signing out ends the session; the account records it opened and closed.
    assert client.post("/accounts/sign-out", headers=bearer(session)).status_code == 204
    assert client.get("/accounts/me", headers=bearer(session)).status_code == 401
    again = sign_in(client, tmp_path)
    records = client.get("/accounts/me/sessions", headers=bearer(again)).json()
    assert [(s["kind"], s["closed_at"] is not None) for s in records] == [("bearer", False), ("bearer", True)]


def test_the_profile_prompts_for_what_each_action_needs_and_a_refusal_changes_nothing(client, tmp_path):
    new_account(client, tmp_path)
    headers = bearer(sign_in(client, tmp_path))
    needs = client.get("/accounts/me/needs/pickup", headers=headers).json()
    assert needs == {"action": "pickup", "allowed": False, "missing": ["name", "default_address"]}
    assert client.get("/accounts/me/needs/teleport", headers=headers).status_code == 422
    assert client.patch("/accounts/me", json={"name": "Ada Lovelace"}, headers=headers).status_code == 200
    bad = client.put("/accounts/me/addresses/home", json=HOME | {"lines": ["  "]}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "addresses.lines"
    assert client.get("/accounts/me", headers=headers).json()["addresses"] == []  # nothing changed
    assert client.put("/accounts/me/addresses/home", json=HOME, headers=headers).status_code == 200
    office = HOME | {"lines": ["1 Dock Place"], "latitude": 55.98}
    me = client.put("/accounts/me/addresses/office", json=office | {"default": True}, headers=headers).json()
    assert [(a["label"], a["default"]) for a in me["addresses"]] == [("home", False), ("office", True)]
    assert client.get("/accounts/me/needs/pickup", headers=headers).json()["allowed"]
    pay = client.get("/accounts/me/needs/pay_after_delivery", headers=headers).json()
    assert pay == {"action": "pay_after_delivery", "allowed": False, "missing": ["attested"]}
    me = client.delete("/accounts/me/addresses/office", headers=headers).json()
    assert [(a["label"], a["default"]) for a in me["addresses"]] == [("home", True)]

    # A new phone waits for its code; sign-in codes still go to the verified one.
    r = client.put("/accounts/me/phone", json={"phone": "07911 123457", "region": "GB"}, headers=headers)
    assert r.status_code == 202 and r.json()["sent_to"] == "+44 ********57"
    soon = client.post("/accounts/me/phone/code", headers=headers)
    assert soon.status_code == 429 and int(soon.headers["retry-after"]) > 0
    me = client.get("/accounts/me", headers=headers).json()
    assert me["phone"] == "+447911123456" and me["phone_verified"]
    code = last_code(tmp_path, "+447911123457")
    assert client.post("/accounts/me/phone/verify", json={"code": code}, headers=headers).json()["phone"] == (
        "+447911123457"
    )

    exported = client.get("/accounts/me/export", headers=headers).json()
    text = json.dumps(exported)
    assert "argon2" not in text and "digest" not in text and "salt" not in text
    kinds = [e["type"] for e in exported["events"]]
    assert kinds[0] == "Registered" and "PhoneVerified" in kinds and "SessionOpened" in kinds
    assert exported["account"]["name"] == "Ada Lovelace"


def test_cookie_sessions_are_httponly_and_samesite_and_sign_out_clears_them(client, tmp_path):
    new_account(client, tmp_path)
    opened = sign_in(client, tmp_path, kind="cookie")
    assert opened["token"] is None and opened["kind"] == "cookie"
    cookie = client.cookies.get("orderchain_session")
    assert cookie and cookie.startswith("ocacct_")
    assert client.get("/accounts/me").json()["login"] == "ada@example.org"  # the cookie is the session
    assert client.post("/accounts/sign-out").status_code == 204
    client.cookies.set("orderchain_session", cookie)  # a copy kept of the ended cookie opens nothing
    assert client.get("/accounts/me").status_code == 401


def test_the_set_cookie_header_is_httponly_strict_and_lives_as_long_as_the_session(client, tmp_path):
    new_account(client, tmp_path)
    assert client.post("/accounts/sign-in/code", json={"login": "ada@example.org"}).status_code == 202
    r = client.post(
        "/accounts/sign-in",
        json={"login": "ada@example.org", "password": PASSWORD, "code": last_code(tmp_path), "kind": "cookie"},
    )
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/" in header
    assert 28_700 < int(header.split("max-age=")[1].split(";")[0]) <= 28_800


def test_a_store_staff_session_works_where_the_store_key_does_for_that_store_only(client, tmp_path):
    key = register(client, "brew", dev_account(1).address)
    register(client, "other", dev_account(2).address)
    stranger = client.post(
        "/stores/brew/staff", json={"login": "sam", "password": PASSWORD, "phone": PHONE}, headers={}
    )
    assert stranger.status_code == 401
    to = new_account(client, tmp_path, "sam", "+44 7911 123458", "/stores/brew/staff", key)
    staff = bearer(sign_in(client, tmp_path, "sam", to))
    assert client.get("/stores/brew", headers=staff).status_code == 200
    assert client.get("/stores/brew/orders", headers=staff).status_code == 200
    other = client.get("/stores/other/orders", headers=staff)
    unknown = client.get("/stores/nowhere/orders", headers=staff)
    assert other.status_code == unknown.status_code == 404
    # A buyer's session is no store key.
    new_account(client, tmp_path)
    buyer = bearer(sign_in(client, tmp_path))
    assert client.get("/stores/brew/orders", headers=buyer).status_code == 404


def test_an_authenticator_replaces_the_sms_code_and_no_code_is_accepted_twice(client, tmp_path):
    new_account(client, tmp_path)
    headers = bearer(sign_in(client, tmp_path))
    enrol = client.post("/accounts/me/totp", headers=headers).json()
    assert enrol["provisioning_uri"].startswith("otpauth://totp/orderchain:ada%40example.org")
    totp = pyotp.TOTP(enrol["secret"])
    wrong = client.post(
        "/accounts/me/totp/confirm", json={"secret": enrol["secret"], "code": "000000"}, headers=headers
    )
    assert wrong.status_code == 422
    now = time.time()
    first = totp.at(now)
    confirmed = client.post(
        "/accounts/me/totp/confirm", json={"secret": enrol["secret"], "code": first}, headers=headers
    )
    assert confirmed.json()["second_factor"] == "totp"
    # The code that enrolled it is used; the next time step's code signs in, once.
    later = totp.at(now + 30)
    body = {"login": "ada@example.org", "password": PASSWORD}
    assert client.post("/accounts/sign-in", json=body | {"code": first}).status_code == 401
    r = client.post("/accounts/sign-in", json=body | {"code": later})
    if r.status_code == 401:  # the next step is not yet within the accepted window: wait for it
        time.sleep(max(0.0, 31 - (time.time() - now)))
        r = client.post("/accounts/sign-in", json=body | {"code": totp.now()})
    assert r.status_code == 200 and r.json()["factor"] == "totp"
    assert client.post("/accounts/sign-in", json=body | {"code": totp.now()}).status_code == 401


def test_five_failures_lock_the_account_out_with_the_same_answer(client, tmp_path):
    new_account(client, tmp_path)
    body = {"login": "ada@example.org", "password": "not the password"}
    for _ in range(5):
        assert client.post("/accounts/sign-in", json=body | {"code": "123456"}).status_code == 401
    assert client.post("/accounts/sign-in/code", json={"login": "ada@example.org"}).status_code == 202
    right = {"login": "ada@example.org", "password": PASSWORD, "code": last_code(tmp_path)}
    locked = client.post("/accounts/sign-in", json=right)
    assert locked.status_code == 401 and locked.json()["detail"] == "sign-in refused"


def test_a_bound_wallet_signs_in_and_still_needs_the_second_factor(client, tmp_path):
    new_account(client, tmp_path)
    headers = bearer(sign_in(client, tmp_path))
    holder = Holder(client, dev_account(5))
    me = client.post("/accounts/me/wallet", json=sign_in_message(holder), headers=headers).json()
    assert me["wallet"] == holder.address.lower()
    # Another account cannot take the same wallet.
    to = new_account(client, tmp_path, "bob@example.org", "+44 7911 222333")
    bob = bearer(sign_in(client, tmp_path, "bob@example.org", to))
    assert client.post("/accounts/me/wallet", json=sign_in_message(holder), headers=bob).status_code == 409
    # The wallet's signature stands for the password, not for the code.
    without = client.post("/accounts/sign-in/wallet", json=sign_in_message(holder))
    assert without.status_code == 401 and without.json()["detail"] == "sign-in refused"
    assert client.post("/accounts/sign-in/code", json={"login": "ada@example.org"}).status_code == 202
    r = client.post("/accounts/sign-in/wallet", json=sign_in_message(holder) | {"code": last_code(tmp_path)})
    assert r.status_code == 200 and r.json()["factor"] == "wallet+sms" and r.json()["login"] == "ada@example.org"
    unbound = client.post("/accounts/sign-in/wallet", json=sign_in_message(Holder(client, dev_account(6))))
    assert unbound.status_code == 401 and unbound.json()["detail"] == "sign-in refused"


def test_the_operator_locks_an_account_and_its_sessions_end(client, tmp_path):
    new_account(client, tmp_path)
    headers = bearer(sign_in(client, tmp_path))
    r = client.post("/operator/accounts/ada@example.org/lock", json={"reason": "reported stolen"})
    assert r.status_code == 401
    r = client.post(
        "/operator/accounts/ada@example.org/lock", json={"reason": "reported stolen"}, headers=ADMIN_HEADERS
    )
    assert r.status_code == 200 and r.json()["locked"]
    assert client.get("/accounts/me", headers=headers).status_code == 401
    assert client.post("/accounts/sign-in/code", json={"login": "ada@example.org"}).status_code == 202
    code = last_code(tmp_path)
    body = {"login": "ada@example.org", "password": PASSWORD, "code": code}
    assert client.post("/accounts/sign-in", json=body).status_code == 401  # locked: refused like any failure
    unlocked = client.post("/operator/accounts/ada@example.org/unlock", headers=ADMIN_HEADERS)
    assert unlocked.status_code == 200 and not unlocked.json()["locked"]
    assert client.post("/accounts/sign-in", json=body).status_code == 200


@pytest.mark.parametrize("password, status", [("not the password", 403), (PASSWORD, 204)])
def test_closing_an_account_takes_its_password(client, tmp_path, password, status):
    new_account(client, tmp_path)
    headers = bearer(sign_in(client, tmp_path))
    assert client.post("/accounts/me/close", json={"password": password}, headers=headers).status_code == status
    assert client.get("/accounts/me", headers=headers).status_code == (200 if status == 403 else 401)


def test_codes_go_through_the_http_gateway_signed_and_a_dead_gateway_leaves_a_dead_letter(chain, tmp_path, gateway):
    from dataclasses import replace

    from fastapi.testclient import TestClient
    from standardwebhooks import Webhook

    from api.app import create_app
    from api.service import Service
    from engine.accounts.sms import code_in
    from tests.e2e.conftest import make_settings
    from tests.gateway import SECRET

    url, seen, plan = gateway
    node, deployments, _ = chain
    svc = Service(replace(make_settings(tmp_path, deployments), sms_url=url, sms_secret=SECRET), node.url)
    try:
        with TestClient(create_app(svc)) as client:
            r = client.post("/accounts", json={"login": "ada@example.org", "password": PASSWORD, "phone": PHONE})
            assert r.status_code == 201
            headers, body = seen[-1]
            message = Webhook(SECRET).verify(body, headers)
            assert message["to"] == "+447911123456" and headers["webhook-id"] == message["id"]
            code = code_in(message["text"])
            assert (
                client.post("/accounts/verify-phone", json={"login": "ada@example.org", "code": code}).status_code
                == 200
            )
            assert not (tmp_path / "sms-outbox.jsonl").exists()  # a gateway is set: nothing in the outbox

            plan.extend([503] * 10)  # the gateway is down for good: retried, then a dead letter
            assert client.post("/accounts/sign-in/code", json={"login": "ada@example.org"}).status_code == 202
            attempts = [h["webhook-id"] for h, _ in seen[1:]]
            assert len(attempts) == 5 and len(set(attempts)) == 1  # one idempotency key for every retry
            [dead] = svc.accounts.dead_letters()
            assert dead["to"] == "+44 ********56" and dead["purpose"] == "sign_in" and dead["attempts"] == 5
            assert code not in json.dumps(dead)
    finally:
        svc.stop()


def test_no_personal_data_or_code_reaches_the_log(client, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    new_account(client, tmp_path)
    headers = bearer(sign_in(client, tmp_path))
    client.patch("/accounts/me", json={"name": "Ada Lovelace"}, headers=headers)
    client.put("/accounts/me/addresses/home", json=HOME, headers=headers)
    client.post("/accounts/sign-in", json={"login": "ada@example.org", "password": "wrong password", "code": "1"})
    logged = caplog.text
    codes = [json.loads(line)["text"] for line in (tmp_path / "sms-outbox.jsonl").read_text().splitlines()]
    assert codes and logged  # something was logged, and codes were sent
    for secret in ("447911123456", "7911 123456", "Ada Lovelace", "High Street", PASSWORD, *codes):
        assert secret not in logged
