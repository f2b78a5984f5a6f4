"""The API as a contract: declared models, problem documents, security schemes, and the
answers that must not give anything away or fall over."""

from __future__ import annotations

from api.present import encode_cursor

from .conftest import Wallet, create_order, deploy_artifact, dev_account, register


def test_every_route_declares_its_response_model_errors_and_security(client):
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["operatorToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["operatorToken"]["description"],
    }
    assert schemes["storeKey"]["scheme"] == "bearer"
    assert schemes["storeApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["storeApiKey"]["description"],
    }
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            ok = [code for code in operation["responses"] if code.startswith("2")]
            assert ok, f"{method} {path} declares no success response"
            if path not in ("/ready", "/metrics") and not path.endswith("/stream") and ok[0] != "204":
                assert "$ref" in str(operation["responses"][ok[0]]["content"]["application/json"]["schema"]), (
                    f"{method} {path} has no response model"
                )
            for code, answer in operation["responses"].items():
                if int(code) >= 400:
                    assert answer["content"] == {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, f"{method} {path} {code}"
            assert "422" in operation["responses"] or (
                not operation.get("parameters") and "requestBody" not in operation
            )
    store_route = spec["paths"]["/stores/{store_id}/orders"]["get"]
    assert {"storeKey": []} in store_route["security"] and {"storeApiKey": []} in store_route["security"]
    assert spec["paths"]["/stores"]["post"]["security"] == [{"operatorToken": []}]
    assert set(spec["components"]["schemas"]["Problem"]["properties"]) >= {
        "type",
        "title",
        "status",
        "detail",
        "errors",
    }


def test_a_store_record_is_shown_to_its_key_holder_only_and_probing_tells_nothing(client, service):
    headers = register(client, "own-shop", dev_account(2).address)
    other = register(client, "other-shop", dev_account(3).address)
    mine = client.get("/stores/own-shop", headers=headers)
    assert mine.status_code == 200
    assert mine.json() == {"store_id": "own-shop", "name": "Own-Shop", "address": dev_account(2).address}
    assert client.get("/stores/own-shop", headers={"X-API-Key": headers["Authorization"][7:]}).status_code == 200
    answers = []
    for store_id, key in (
        ("own-shop", other),
        ("ghost-shop", other),
        ("own-shop", {"X-API-Key": "ocs_wrong"}),
        ("ghost-shop", {"X-API-Key": "ocs_wrong"}),
    ):
        r = client.get(f"/stores/{store_id}", headers=key)
        body = r.json()
        answers.append(
            (r.status_code, r.headers["content-type"], body["title"], body["detail"].replace(store_id, "<id>"))
        )
        r = client.get(f"/stores/{store_id}/orders", headers=key)
        assert r.status_code == 404
    assert len(set(answers)) == 1 and answers[0][0] == 404
    assert client.get("/stores/ghost-shop").status_code == client.get("/stores/own-shop").status_code == 401


def test_readiness_405_and_out_of_range_cursors(client, service):
    service.step()
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"ready": True}
    status = client.get("/status").json()
    assert status["contracts"]["C2CSettlement"] == service.manifest.contract("C2CSettlement").address
    wrong = client.put("/status")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    assert wrong.headers["content-type"].startswith("application/problem+json")
    headers = register(client, "cursor-shop", dev_account(4).address)
    for position in (2**63, 2**64, 10**40):
        r = client.get("/stores/cursor-shop/orders", params={"after": encode_cursor(position)}, headers=headers)
        assert r.status_code == 400, r.text
    assert (
        client.get(
            "/stores/cursor-shop/orders", params={"after": encode_cursor(2**63 - 1)}, headers=headers
        ).status_code
        == 200
    )


def test_permits_for_tokens_without_code_or_eip712_metadata_are_422_naming_the_token(client, service, chain):
    _, _, rpc = chain
    owner = dev_account(1).address
    no_code = dev_account(8).address
    r = client.post("/settlements/permit", json={"owner": owner, "token": no_code, "value": "1"})
    assert r.status_code == 422 and r.json()["token"] == no_code and "no code" in r.json()["detail"]
    plain, _, _ = deploy_artifact(rpc, "TestFeeToken", ["address"], [owner])  # name(), but no EIP-712 domain
    r = client.post("/settlements/permit", json={"owner": owner, "token": plain, "value": "1"})
    assert r.status_code == 422 and r.json()["token"].lower() == plain and "EIP-712" in r.json()["detail"]
    contract = service.manifest.contract("C2CSettlement").address  # an EIP-712 domain, but no permits
    r = client.post("/settlements/permit", json={"owner": owner, "token": contract, "value": "1"})
    assert r.status_code == 422 and r.json()["token"].lower() == contract and "no nonces()" in r.json()["detail"]
    token = service.manifest.contract("TestStablecoin").address
    typed = client.post("/settlements/permit", json={"owner": owner, "token": token, "value": "1"}).json()
    assert typed["typed_data"]["domain"]["name"] == "Test USD"
    assert typed["typed_data"]["domain"]["version"] == "1"  # read from the token's eip712Domain()


def test_orders_in_tokens_the_contract_refuses_or_with_impossible_time_limits_are_refused(client, service):
    headers = register(client, "terms-shop", dev_account(5).address)
    before = service.app.recorder.max_notification_id()
    r = client.post(
        "/stores/terms-shop/orders",
        headers=headers,
        json={"order_number": "T-1", "amount": "5", "token": dev_account(8).address},
    )
    assert r.status_code == 422 and "not allowed" in r.json()["detail"]
    token = service.manifest.contract("TestStablecoin").address
    r = client.post(
        "/stores/terms-shop/orders",
        headers=headers,
        json={"order_number": "T-1", "amount": "5", "token": token, "time_limit": 60},
    )
    assert r.status_code == 422 and "outside the contract's range" in r.json()["detail"]
    assert service.app.recorder.max_notification_id() == before
    order = create_order(client, "terms-shop", headers, "T-2", 5, token)
    assert order["payment"]["time_limit"] == order["snapshot"]["time_limit"] == 10 * 86_400  # the contract's default


def test_the_unsigned_transaction_is_signed_as_it_is_and_the_history_tells_the_story(client, service):
    token = service.manifest.contract("TestStablecoin").address
    buyer = dev_account(1)
    headers = register(client, "story-shop", dev_account(6).address)
    order = create_order(client, "story-shop", headers, "H-1", 2_000_000, token)
    approve = client.post(
        "/settlements/approve", json={"owner": buyer.address, "token": token, "amount": "2000000"}
    ).json()["transaction"]
    assert all(
        approve[k].startswith("0x")
        for k in ("type", "chainId", "nonce", "gas", "value", "maxFeePerGas", "maxPriorityFeePerGas")
    )
    raw = "0x" + buyer.sign_transaction(approve).raw_transaction.hex()  # eth-account takes it unchanged
    assert client.post("/tx", json={"raw": raw}).json()["status"] == "success"
    key = {"store": dev_account(6).address, "order_number": "H-1", "buyer": buyer.address, "token": token}
    wallet = Wallet(client, buyer)
    wallet.send("/settlements/open", {"key": key, "amount": "1500000", "snapshot_hash": order["snapshot_hash"]})
    wallet.send("/settlements/open", {"key": key, "amount": "2000000", "snapshot_hash": order["snapshot_hash"]})
    service.step()
    history = client.get("/stores/story-shop/orders/H-1/history", headers=headers).json()["history"]
    assert [h["step"] for h in history] == ["OrderCreated", "SettlementOpened", "SettlementUpdated"]
    assert history[1]["mismatch"] == ["frozen amount 1500000 differs from the order amount 2000000"]
    assert history[2]["mismatch"] == [] and history[2]["tx_hash"].startswith("0x")
    assert [h["seq"] for h in history] == sorted(h["seq"] for h in history)
    assert client.get("/stores/story-shop/orders/H-9/history", headers=headers).status_code == 404
