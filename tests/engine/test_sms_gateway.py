"""The SMS gateway client against a real HTTP server on this machine: the Standard Webhooks
signature checks out, the body is the message, retries keep one idempotency key, a refusal
is not retried; and the local outbox keeps a message once."""

from __future__ import annotations

import base64
import json

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from engine.accounts.sms import RETRIES, HttpGateway, Outbox, SmsMessage
from tests.gateway import SECRET

MESSAGE = SmsMessage(id="code-7f3a", to="+447911123456", text="Your orderchain code is 042917 (5 minutes).")


def test_a_message_is_signed_and_its_body_is_the_message(gateway):
    url, seen, _ = gateway
    sent = HttpGateway(url, SECRET).send(MESSAGE)
    assert (sent.ok, sent.attempts, sent.status) == (True, 1, 200)
    headers, body = seen[0]
    assert Webhook(SECRET).verify(body, headers) == {"id": MESSAGE.id, "to": MESSAGE.to, "text": MESSAGE.text}
    assert headers["webhook-id"] == MESSAGE.id
    with pytest.raises(WebhookVerificationError):  # another secret does not verify it
        Webhook("whsec_" + base64.b64encode(b"another secret entirely, friend").decode()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # nor does a changed body
        Webhook(SECRET).verify(body.replace(b"042917", b"000000"), headers)


def test_failures_are_retried_with_back_off_under_one_idempotency_key(gateway):
    url, seen, plan = gateway
    plan.extend([503, 429, 500])
    pauses: list[float] = []
    sent = HttpGateway(url, SECRET, sleep=pauses.append).send(MESSAGE)
    assert (sent.ok, sent.attempts) == (True, 4)
    assert pauses == [0.2, 0.4, 0.8]
    assert {h["webhook-id"] for h, _ in seen} == {MESSAGE.id} and len(seen) == 4
    assert all(json.loads(b) == json.loads(seen[0][1]) for _, b in seen)


def test_a_refusal_is_not_retried_and_a_dead_gateway_gives_up(gateway):
    url, seen, plan = gateway
    plan.append(400)
    sent = HttpGateway(url, SECRET, sleep=lambda s: None).send(MESSAGE)
    assert (sent.ok, sent.attempts, sent.status) == (False, 1, 400) and len(seen) == 1
    dead = HttpGateway("http://127.0.0.1:9/sms", SECRET, sleep=lambda s: None).send(MESSAGE)
    assert (dead.ok, dead.attempts) == (False, RETRIES + 1) and "ConnectError" in dead.error


def test_the_outbox_keeps_each_message_once(tmp_path):
    outbox = Outbox(tmp_path / "var" / "sms-outbox.jsonl")
    assert outbox.messages() == []
    assert outbox.send(MESSAGE).ok and outbox.send(MESSAGE).ok
    assert [(m["id"], m["to"], m["text"]) for m in outbox.messages()] == [(MESSAGE.id, MESSAGE.to, MESSAGE.text)]
