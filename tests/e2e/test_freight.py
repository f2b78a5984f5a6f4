"""Freight history and quotes: imported with the CLI, quoted with the CLI and through the API."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import app

HEADER = (
    "order_id,origin,destination,length_cm,width_cm,height_cm,weight_kg,price_minor,currency,freight_minor,completed_at"
)
ROWS = [
    "s1,CN-SZX,DE-HAM,55,40,30,11,110000,EUR,20000,2026-06-29T00:00:00Z",
    "s2,CN-SZX,DE-HAM,50,40,30,9,90000,EUR,22000,2026-04-01T00:00:00Z",
    "c1,CN-SZX,DE-HAM,50,40,30,10.5,120000,EUR,30000,2026-06-30T00:00:00Z",
    "f1,CN-SZX,DE-HAM,55.0005,40,30,20,105000,EUR,40000,2026-06-29T00:00:00Z",
    "early,CN-SZX,DE-HAM,50,40,30,10,100000,EUR,99999,2026-03-31T23:59:59Z",
]
REQUEST = {
    "origin": "CN-SZX",
    "destination": "DE-HAM",
    "length_cm": 50,
    "width_cm": 40,
    "height_cm": 30,
    "weight_kg": "10.0",
    "price_minor": 100000,
    "currency": "EUR",
    "quoted_at": "2026-06-30T00:00:00Z",
}


def test_import_then_quote_from_the_cli_and_the_api(service, client, tmp_path):
    env = {
        "ORDERCHAIN_DB": service.settings.db,
        "ORDERCHAIN_VAR": str(tmp_path),
        "ORDERCHAIN_DEPLOYMENTS": service.settings.deployments_dir,
    }
    runner = CliRunner()

    def cli(*args, ok=True):
        result = runner.invoke(app, ["freight", *args], env=env)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, ROWS[0], "x,CN-SZX,DE-HAM,50,40,30,ten,1,EUR,1,2026-06-01T00:00:00Z"]) + "\n")
    assert "line 3: weight_kg" in cli("import", str(bad), ok=False)
    good = tmp_path / "history.csv"
    good.write_text("\n".join([HEADER, *ROWS]) + "\n")
    assert "imported 5 orders" in cli("import", str(good))  # nothing of the bad file came in before it
    assert "imported before" in cli("import", str(good), ok=False)

    answer = json.loads(cli("quote", "--json", json.dumps(REQUEST)))
    # S (20,000 + 22,000) / 2 = 21,000, C 30,000, F 40,000: E = 13,608 + 7,500 + 4,080 = 25,188; x 1.5 = 37,782
    assert (answer["estimate_minor"], answer["target_freight_minor"], answer["hold_minor"]) == (
        "25188",
        "37782",
        "137782",
    )
    assert answer["groups"] == [2, 1, 1]

    service.project()
    r = client.post("/freight/quotes", json=REQUEST)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("estimate_minor", "target_freight_minor", "hold_minor", "groups")} == {
        "estimate_minor": "25188",
        "target_freight_minor": "37782",
        "hold_minor": "137782",
        "groups": [2, 1, 1],
    }
    assert r.json()["orders"] == {"S": ["s2", "s1"], "C": ["c1"], "F": ["f1"]}
    r = client.post("/freight/quotes", json=dict(REQUEST, destination="FR-PAR"))
    assert r.status_code == 422 and "CN-SZX -> FR-PAR" in r.json()["detail"]
    r = client.post("/freight/quotes", json=dict(REQUEST, weight_kg="heavy"))
    assert r.status_code == 422


def test_a_rate_is_recorded_only_with_the_operators_signature(service, client):
    from engine.cross_border.orders import rate_document, sign_rate

    from .conftest import dev_account

    operator, stranger = dev_account(0), dev_account(4)  # the deployer is the escrow's operator here
    fields = {"base": "USD", "quote": "EUR", "rate": "0.925", "source": "ECB reference", "at": "2026-06-30T14:15:00Z"}
    document = rate_document(fields["base"], fields["quote"], fields["rate"], fields["source"], fields["at"])
    r = client.post("/rates", json=dict(fields, signature=sign_rate(document, stranger)))
    assert r.status_code == 422 and "not by the operator" in r.json()["detail"]
    assert client.get("/rates/USD/EUR").status_code == 404
    r = client.post("/rates", json=dict(fields, signature=sign_rate(document, operator)))
    assert r.status_code == 201, r.text
    assert r.json()["signer"] == operator.address.lower() and r.json()["document"]["rate"] == "0.925"
    latest = client.get("/rates/usd/eur").json()
    assert latest["signature_hash"] == r.json()["signature_hash"]
    r = client.post("/rates", json=dict(fields, rate="0.93", signature=sign_rate(document, operator)))
    assert r.status_code == 422  # the signature is of another rate
    # The refusal says which document the signature was checked against, and its exact text.
    expected = r.json()
    assert expected["expected_document"]["rate"] == "0.93"
    assert expected["expected_message"] == (
        '{"at":"2026-06-30T14:15:00+00:00","base":"USD","quote":"EUR",'
        '"rate":"0.93","source":"ECB reference","version":1}'
    )
    assert expected["expected_message"] in expected["detail"]


def test_the_operator_signs_a_rate_on_its_machine_and_posts_it(cli, service, client, tmp_path):
    from .conftest import dev_account

    keystore = str(tmp_path / "operator.json")
    cli("wallet", "import", "--keystore", keystore, env={"ORDERCHAIN_WALLET_IMPORT_KEY": dev_account(0).key.hex()})
    out = cli(
        "freight",
        "sign-rate",
        "--keystore",
        keystore,
        "--base",
        "eur",
        "--quote",
        "usd",
        "--rate",
        "1.0800",
        "--source",
        "ECB reference",
        "--at",
        "2026-06-30T14:15:00Z",
    )
    body = json.loads(out.strip().splitlines()[-1])
    assert (body["base"], body["rate"], body["at"]) == ("EUR", "1.08", "2026-06-30T14:15:00+00:00")
    r = client.post("/rates", json=body)
    assert r.status_code == 201 and r.json()["signer"] == dev_account(0).address.lower(), r.text
    out = cli(
        "freight",
        "sign-rate",
        "--keystore",
        keystore,
        "--base",
        "EUR",
        "--quote",
        "GBP",
        "--rate",
        "0.85",
        "--source",
        "ECB reference",
        "--post",
        "http://api",
    )
    assert '"signature_hash"' in out and client.get("/rates/EUR/GBP").json()["document"]["rate"] == "0.85"
    assert "is not a decimal" in cli(
        "freight",
        "sign-rate",
        "--keystore",
        keystore,
        "--base",
        "EUR",
        "--quote",
        "GBP",
        "--rate",
        "x",
        "--source",
        "s",
        ok=False,
    )


def test_the_operator_imports_history_through_the_api(service, client):
    from .conftest import ADMIN_HEADERS

    good = {"source": "history.csv", "csv": "\n".join([HEADER, *ROWS]) + "\n"}
    assert client.post("/freight/history", json=good).status_code == 401
    bad = {
        "source": "bad.csv",
        "csv": "\n".join([HEADER, ROWS[0], "x,CN-SZX,DE-HAM,50,40,30,10,1,EUR,-5,2026-06-01T00:00:00Z"]),
    }
    r = client.post("/freight/history", json=bad, headers=ADMIN_HEADERS)
    assert r.status_code == 422 and "line 3: freight_minor" in r.json()["detail"], r.text
    assert r.json()["title"] == "Freight history refused" and service.freight.count() == 0
    r = client.post("/freight/history", json=good, headers=ADMIN_HEADERS)
    assert r.status_code == 201 and r.json() == {"imported": 5, "history": 5}, r.text
    r = client.post("/freight/history", json=good, headers=ADMIN_HEADERS)
    assert r.status_code == 409 and service.freight.count() == 5
