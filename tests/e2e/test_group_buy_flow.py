"""Group buying on anvil through the API: a catalogue, its MOQ, the order book moving with
every pledge, a campaign that succeeds and one that fails and refunds; views equal a rebuild."""

from __future__ import annotations

import json

from api.client import answer
from engine.evidence import bundles as evidence

from .conftest import Wallet, dev_account, landed, register

DAY = 86_400
QFD = {
    "requirements": [{"name": "comfort", "weight": 5}, {"name": "durability", "weight": 3}],
    "attributes": ["material", "weight"],
    "relations": [
        {"requirement": "comfort", "attribute": "material", "strength": 9},
        {"requirement": "comfort", "attribute": "weight", "strength": 3},
        {"requirement": "durability", "attribute": "material", "strength": 3},
    ],
    "roof": [{"a": "material", "b": "weight", "sign": "-"}],
}
SCHEMES = {
    "parameters": [
        {"id": "color", "kind": "design", "options": [{"id": "red"}, {"id": "blue", "surcharge": 100}]},
        {
            "id": "fabric",
            "kind": "design",
            "options": [{"id": "wool", "attribute": "material", "surcharge": 500}, {"id": "cotton"}],
        },
        {
            "id": "build",
            "kind": "perception",
            "options": [{"id": "light", "attribute": "weight", "surcharge": 200}, {"id": "sturdy"}],
        },
    ],
    "ladder": [{"minimum_quantity": 1, "unit_price": "10000"}, {"minimum_quantity": 10, "unit_price": "9000"}],
    "terms": [1, 2],
    "term_discounts": [{"term": 2, "basis_points": 500}],
}
C = "color=red,fabric=cotton,build=sturdy"


def ok(result: dict) -> dict:
    assert result["status"] == "success", result
    return result


def catalogue(client, headers) -> None:
    r = client.put("/stores/maker/catalogue/qfd", json=QFD, headers=headers)
    assert r.status_code == 200, r.text
    # material 5*9 + 3*3 = 54, weight 5*3 = 15: 78.26 % and 21.74 %
    assert r.json()["relative"] == {"material": "78.26", "weight": "21.74"}
    r = client.put("/stores/maker/catalogue/schemes", json=SCHEMES, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 6 and len(r.json()["excluded"]) == 2  # wool with light conflicts
    for department, fixed, variable in (("production", 40_000, 4_000), ("logistics", 0, 1_000)):
        r = client.post(
            "/stores/maker/catalogue/costs",
            headers=headers,
            json={"scheme": C, "term": 1, "department": department, "fixed": str(fixed), "variable": str(variable)},
        )
        assert r.status_code == 200, r.text
    # fixed 40,000, variable 5,000: at 10,000 a unit, 40,000 / 5,000 = 8 units (in the 1-9 band)
    assert r.json()["moq"] == 8
    assert r.json()["band"] == {"minimum_quantity": 1, "unit_price": "10000", "margin": "5000"}


def test_a_campaign_reaches_its_moq_and_another_fails_and_refunds(chain, service, client):
    _, _, rpc = chain
    token = service.manifest.contract("TestStablecoin").address
    maker, a, b = (Wallet(client, dev_account(i)) for i in (2, 3, 4))
    headers = register(client, "maker", maker.address)
    catalogue(client, headers)
    from api.client.group_buy import sign_in

    intention = {"scheme": C, "term": 1, "quantity": 9}
    assert client.post("/catalogues/maker/classify", json=intention).status_code == 401  # sign in first
    session = {"Authorization": f"Bearer {sign_in(a)['token']}"}
    assert client.post("/catalogues/maker/classify", json=intention, headers=session).json()["class"] == "wholesale"
    assert (
        client.post("/catalogues/maker/classify", json=dict(intention, quantity=3), headers=session).json()["class"]
        == "retail"
    )
    target = service.rpc.chain_time() + 10 * DAY
    opened = ok(
        maker.send(
            "/group-buy/open-campaign",
            {
                "sender": maker.address,
                "store_id": "maker",
                "scheme": C,
                "cycle": 1,
                "token": token,
                "deposit_per_unit": "2000",
                "max_quantity": 20,
                "target_date": str(target),
            },
        )
    )
    campaign = int(next(e for e in opened["events"] if e["event"] == "CampaignOpened")["args"]["campaignId"])
    service.step()
    shown = answer(client.get(f"/campaigns/{campaign}"))
    assert (shown["moq"], shown["unit_price"], shown["status"], shown["missing"]) == (8, "10000", "open", 8)

    book = answer(client.get("/catalogues/maker/book", params={"scheme": C, "term": 1, "quantity": 3}))
    assert book["queue"] == 0
    for backer, quantity in ((a, 5), (b, 3)):
        ok(backer.send("/group-buy/approve", {"owner": backer.address, "token": token, "amount": "1000000"}))
        result = ok(
            backer.send(
                "/group-buy/pledge",
                {
                    "sender": backer.address,
                    "campaign_id": str(campaign),
                    "quantity": quantity,
                    "confirmation_hash": "0x" + "c0" * 32,
                },
            )
        )
        service.step()
        moved = answer(client.get("/catalogues/maker/book", params={"scheme": C, "term": 1, "quantity": 3}))
        assert moved["seq"] > book["seq"] and moved["queue"] == book["queue"] + quantity
        book = moved
    assert any(e["event"] == "ProductionTriggered" for e in result["events"])
    shown = answer(client.get(f"/campaigns/{campaign}"))
    assert (shown["status"], shown["pledged"], shown["deposits"]) == ("succeeded", 8, str(8 * 2000))
    ok(maker.send("/group-buy/collect", {"sender": maker.address, "campaign_id": str(campaign)}))

    failing = ok(
        maker.send(
            "/group-buy/open-campaign",
            {
                "sender": maker.address,
                "store_id": "maker",
                "scheme": C,
                "cycle": 1,
                "token": token,
                "deposit_per_unit": "2000",
                "max_quantity": 20,
                "target_date": str(service.rpc.chain_time() + DAY),
            },
        )
    )
    second = int(next(e for e in failing["events"] if e["event"] == "CampaignOpened")["args"]["campaignId"])
    ok(
        a.send(
            "/group-buy/pledge",
            {"sender": a.address, "campaign_id": str(second), "quantity": 2, "confirmation_hash": "0x" + "c1" * 32},
        )
    )
    r = client.post("/group-buy/refund", json={"sender": a.address, "campaign_id": str(second)})
    assert r.status_code == 422 and r.json()["revert"]["error"] == "NoRefund"
    rpc.call("evm_increaseTime", 2 * DAY)
    rpc.call("evm_mine")
    service.step()
    assert answer(client.get(f"/campaigns/{second}"))["status"] == "failed"
    ok(a.send("/group-buy/refund", {"sender": a.address, "campaign_id": str(second)}))
    service.step()
    assert answer(client.get(f"/campaigns/{second}"))["refunded"] == "4000"
    # A buyer lists the campaigns it pledged to; a stranger has none.
    assert [c["campaign_id"] for c in answer(client.get("/campaigns", params={"backer": a.address}))] == [
        campaign,
        second,
    ]
    assert [c["campaign_id"] for c in answer(client.get("/campaigns", params={"backer": b.address.lower()}))] == [
        campaign
    ]
    assert answer(client.get("/campaigns", params={"backer": dev_account(9).address})) == []
    assert client.get("/campaigns", params={"backer": "nobody"}).status_code == 422

    live = service.group_buy.snapshot()
    service.group_buy.rebuild()
    assert service.group_buy.snapshot() == live


def test_an_order_with_evidence_is_sealed_anchored_and_verified_and_tampering_is_caught(
    chain, service, client, cli, tmp_path
):
    from api.client.group_buy import order, sign_in

    token = service.manifest.contract("TestStablecoin").address
    maker, buyer = Wallet(client, dev_account(2)), Wallet(client, dev_account(5))
    headers = register(client, "maker", maker.address)
    catalogue(client, headers)
    opened = ok(
        maker.send(
            "/group-buy/open-campaign",
            {
                "sender": maker.address,
                "store_id": "maker",
                "scheme": C,
                "cycle": 1,
                "token": token,
                "deposit_per_unit": "2000",
                "max_quantity": 20,
                "target_date": str(service.rpc.chain_time() + 10 * DAY),
            },
        )
    )
    campaign = int(next(e for e in opened["events"] if e["event"] == "CampaignOpened")["args"]["campaignId"])
    service.step()
    # Without a session there is no ordering; a sign-in nonce is used once.
    r = client.post(
        "/group-buy/orders/prepare",
        json={"campaign_id": str(campaign), "quantity": 1, "sign_in": {"message": "x", "signature": "0x"}},
    )
    assert r.status_code == 401
    session = sign_in(buyer)
    recorded = order(buyer, session, campaign, 2)
    prepared = recorded["prepared"]
    assert "deposit is forfeit" in prepared["risk_notice"] and prepared["order"]["scheme"] == C
    assert recorded["witness"] == dev_account(8).address.lower() and recorded["anchoring"] is None
    assert recorded["bundle"]["deposit"]["confirmation_hash"] == prepared["confirmation_hash"]

    service.step()
    assert landed(service.rpc, service.anchorer.run_once())  # the batch's root goes on chain
    service.step()
    kept = answer(client.get(f"/evidence/{recorded['bundle_hash']}"))
    assert kept["anchoring"]["root"] == kept["root"] and kept["anchoring"]["anchored_at"] > 0
    assert service.anchorer.run_once() == []  # anchored once, never again
    # The holder checks the file on its own machine: hash, signatures, seal, the proof folded
    # by hand to the root, and the anchor contract's own answer.
    node, deployments, _ = chain
    kept_file = tmp_path / "evidence.json"
    kept_file.write_text(json.dumps(kept))
    env = {"ORDERCHAIN_DEPLOYMENTS": str(deployments)}
    out = cli("evidence", "verify", str(kept_file), "--rpc", node.url, env=env)
    assert "VERIFIED" in out and "NOT VERIFIED" not in out and "leaf = keccak256(bundle hash)" in out
    assert out.count("keccak256(smaller || larger)") == len(kept["anchoring"]["proof"])
    assert "(no node given" in cli("evidence", "verify", str(kept_file), env={**env, "ORDERCHAIN_RPC_URL": ""})
    forged = json.loads(json.dumps(kept))
    forged["bundle"]["order"]["quantity"] = 3
    kept_file.write_text(json.dumps(forged))
    out = cli("evidence", "verify", str(kept_file), "--rpc", node.url, "--json", env=env, ok=False)
    assert json.loads(out[out.index("{") :])["ok"] is False

    verdict = answer(client.post("/evidence/verify", json={"bundle": recorded["bundle"]}))
    assert (verdict["intact"], verdict["signatures_valid"], verdict["countersignature_valid"], verdict["anchored"]) == (
        True,
        True,
        True,
        True,
    )
    assert verdict["anchoring"]["tx_hash"] == kept["anchoring"]["tx_hash"]
    # One changed byte: a different hash, not the recorded bundle, not anchored, its signatures broken.
    tampered = json.loads(json.dumps(recorded["bundle"]))
    tampered["order"]["quantity"] = 3
    verdict = answer(client.post("/evidence/verify", json={"bundle": tampered}))
    assert (verdict["intact"], verdict["signatures_valid"], verdict["anchored"]) == (False, False, False)
    assert verdict["checks"]["confirmation"] is False
    # A seal by someone who is not a witness is not a countersignature.
    forged = evidence.seal(recorded["bundle_hash"], dev_account(5))
    verdict = answer(client.post("/evidence/verify", json={"bundle": recorded["bundle"], "seal": forged}))
    assert verdict["countersignature_valid"] is False and verdict["intact"] is True


class Receiver:
    """A real HTTP endpoint of the enterprise's system: records each request, fails the first ``fail`` ones."""

    def __init__(self, fail: int = 0):
        import http.server
        import threading

        self.requests: list[tuple[dict, bytes]] = []
        self.fail = fail
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = 503 if len(receiver.requests) <= receiver.fail else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/production"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_success_sends_one_signed_production_instruction_retried_across_a_restart_and_never_twice(
    chain, service, client, tmp_path
):
    from api.service import Service
    from engine.deliveries import signature_valid

    from .conftest import make_settings

    token = service.manifest.contract("TestStablecoin").address
    maker, backer = Wallet(client, dev_account(2)), Wallet(client, dev_account(3))
    headers = register(client, "maker", maker.address)
    catalogue(client, headers)
    receiver = Receiver(fail=1)
    try:
        hook = client.put("/stores/maker/webhook", json={"url": receiver.url}, headers=headers)
        assert hook.status_code == 200, hook.text
        secret = hook.json()["secret"]
        opened = ok(
            maker.send(
                "/group-buy/open-campaign",
                {
                    "sender": maker.address,
                    "store_id": "maker",
                    "scheme": C,
                    "cycle": 1,
                    "token": token,
                    "deposit_per_unit": "2000",
                    "max_quantity": 20,
                    "target_date": str(service.rpc.chain_time() + 5 * DAY),
                },
            )
        )
        campaign = int(next(e for e in opened["events"] if e["event"] == "CampaignOpened")["args"]["campaignId"])
        ok(backer.send("/group-buy/approve", {"owner": backer.address, "token": token, "amount": "100000"}))
        ok(
            backer.send(
                "/group-buy/pledge",
                {
                    "sender": backer.address,
                    "campaign_id": str(campaign),
                    "quantity": 8,
                    "confirmation_hash": "0x" + "c0" * 32,
                },
            )
        )
        service.step()
        clock = [1_000.0]
        service.dispatcher.clock = lambda: clock[0]
        assert service.dispatcher.run_once() == 0  # the receiver fails the first attempt
        service.project()
        assert answer(client.get(f"/campaigns/{campaign}"))["instruction"]["state"] == "retrying"
        listed = answer(client.get("/stores/maker/instructions", headers=headers))
        assert [(i["campaign_id"], i["state"], i["attempts"]) for i in listed] == [(campaign, "retrying", 1)]
        assert listed[0]["last_error"]
        assert client.get("/stores/maker/instructions").status_code == 401
        assert service.dispatcher.run_once() == 0  # not due yet: backoff
        assert len(receiver.requests) == 1

        # The engine restarts before the retry: the new one finds the pending instruction and delivers it.
        service.stop()
        again = Service(make_settings(tmp_path, chain[1]), chain[0].url)
        try:
            again.step()
            clock[0] += 2.5
            again.dispatcher.clock = lambda: clock[0]
            assert again.dispatcher.run_once() == 1
            again.project()
            shown = again.instructions.of_campaign(campaign)
            assert (shown["state"], shown["attempts"]) == ("delivered", 2)
        finally:
            again.stop()
        first, second = receiver.requests
        assert first[0]["X-Instruction-Id"] == second[0]["X-Instruction-Id"]  # a repeat is recognisable
        sent = json.loads(second[1])
        assert (sent["instruction"], sent["campaign_id"], sent["scheme"], sent["quantity"], sent["moq"]) == (
            "produce",
            campaign,
            C,
            8,
            8,
        )
        assert signature_valid(secret, second[1], second[0]["X-Signature"])
        assert not signature_valid("whsec_other", second[1], second[0]["X-Signature"])

        # Restarted once more, the engine sends nothing more for this campaign.
        third = Service(make_settings(tmp_path, chain[1]), chain[0].url)
        try:
            third.step()
            third.dispatcher.clock = lambda: clock[0] + 10_000
            assert third.dispatcher.run_once() == 0
            assert len(receiver.requests) == 2
        finally:
            third.stop()
    finally:
        receiver.close()


def test_a_webhook_the_store_never_takes_is_a_dead_letter_the_operator_replays(chain, service, client):
    import time

    from engine.instructions import WEBHOOK_ATTEMPTS

    from .conftest import ADMIN_HEADERS

    store = dev_account(2)
    headers = register(client, "maker", store.address)
    receiver = Receiver(fail=WEBHOOK_ATTEMPTS)
    try:
        assert client.put("/stores/maker/webhook", json={"url": receiver.url}, headers=headers).status_code == 200
        due = [("top-up 7 0xbill", store.address, {"notice": "top-up", "order": "7"})]
        service.dispatcher.notices = lambda: [due.pop()] if due else []  # one notice, made once
        clock = [1_000.0]
        service.dispatcher.clock = lambda: clock[0]
        for _ in range(WEBHOOK_ATTEMPTS):
            assert service.dispatcher.run_once() == 0
            service.project()  # as the engine's loop does between rounds
            clock[0] += 3_600  # past the longest back-off
        [dead] = answer(client.get("/operator/webhooks?state=dead", headers=ADMIN_HEADERS))
        assert (dead["kind"], dead["store_id"], dead["subject"], dead["attempts"]) == (
            "notice",
            "maker",
            "top-up 7 0xbill",
            WEBHOOK_ATTEMPTS,
        )
        assert dead["last_error"] == "HTTP 503"
        assert [n["state"] for n in answer(client.get("/stores/maker/notices", headers=headers))] == ["dead"]
        assert service.dispatcher.run_once() == 0 and len(receiver.requests) == WEBHOOK_ATTEMPTS  # no more tries

        replay = f"/operator/webhooks/{dead['delivery_id']}/replay"
        assert client.post(replay).status_code == 401
        assert answer(client.post(replay, headers=ADMIN_HEADERS))["state"] == "pending"
        assert client.post(replay, headers=ADMIN_HEADERS).status_code == 409  # no longer a dead letter
        assert client.post("/operator/webhooks/00000000-0000-4000-8000-000000000000/replay",
                           headers=ADMIN_HEADERS).status_code == 404  # fmt: skip
        clock[0] = time.time()  # a replay is due at once
        assert service.dispatcher.run_once() == 1
        service.project()
        assert answer(client.get("/operator/webhooks?state=dead", headers=ADMIN_HEADERS)) == []
        [delivered] = answer(client.get("/operator/webhooks?state=delivered", headers=ADMIN_HEADERS))
        assert delivered["delivery_id"] == dead["delivery_id"] and delivered["attempts"] == 1
        assert len({h["X-Instruction-Id"] for h, _ in receiver.requests}) == 1  # the same id on every attempt
        live = service.instructions.snapshot()
        service.instructions.rebuild()
        assert service.instructions.snapshot() == live
    finally:
        receiver.close()
