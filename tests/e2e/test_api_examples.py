"""The recorded requests and answers (``api/examples.json``, ``make examples``): each still
matches its operation's schema, the OpenAPI document carries them, and the README shows
exactly what the file holds."""

from __future__ import annotations

from pathlib import Path

import jsonschema_rs
import pytest

from api import examples
from api.routes import spec_without_service

README = Path(__file__).resolve().parents[2] / "README.md"
SPEC = spec_without_service()
RECORDED = examples.load()


def _errors(schema: dict, instance) -> list[str]:
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": SPEC["components"]})
    return [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(instance)]


def test_the_walk_recorded_every_capability():
    tagged = {
        tag
        for path, methods in SPEC["paths"].items()
        for method, op in methods.items()
        if f"{method.upper()} {path}" in RECORDED
        for tag in op.get("tags", [])
    }
    assert tagged >= {
        "stores",
        "settlements",
        "liquor",
        "group buying",
        "sign-in and evidence",
        "freight",
        "cross-border",
        "chain",
        "accounts",
        "pay after delivery",
    }
    assert len(RECORDED) >= 100


@pytest.mark.parametrize("operation", sorted(RECORDED))
def test_each_example_matches_its_operations_schema(operation):
    method, path = operation.split(" ", 1)
    op = SPEC["paths"][path][method.lower()]
    entry = RECORDED[operation]
    if "request" in entry:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert _errors(schema, entry["request"]) == []
        assert op["requestBody"]["content"]["application/json"]["example"] == entry["request"]
    answer = op["responses"][str(entry["status"])]["content"]["application/json"]
    assert _errors(answer["schema"], entry["answer"]) == []
    assert answer["example"] == entry["answer"]


def test_the_readme_shows_what_was_recorded():
    text = README.read_text()
    assert text.count("<!-- examples: ") == 5
    assert examples.render(text, RECORDED, SPEC) == text, "run `make examples` (or python -m api.routes README.md)"


def test_the_event_stream_declares_its_events():
    from api.present import decode_cursor

    content = SPEC["paths"]["/stores/{store_id}/orders/stream"]["get"]["responses"]["200"]["content"]
    event = content["text/event-stream"]["itemSchema"]
    assert event["properties"]["event"]["enum"] == ["order", "error"]
    data = event["properties"]["data"]["contentSchema"]["oneOf"][0]["$ref"].rsplit("/", 1)[-1]
    assert data == "StoreOrderOut" and data in SPEC["components"]["schemas"]
    first = content["text/event-stream"]["example"].split("\n")[0]
    assert decode_cursor(first.removeprefix("id: ")) == 42
