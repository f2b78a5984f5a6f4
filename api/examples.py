"""Requests and answers recorded from the demo walk: examples in the OpenAPI document and
in the README.

``make examples`` walks the demo against a fresh chain through a :class:`Recorder`, which
keeps the first successful exchange of every operation in ``api/examples.json``; the app
attaches them to its OpenAPI document (:func:`attach`), and :func:`render` writes them into
the README's sections between ``<!-- examples: tag, tag -->`` and ``<!-- /examples -->``
(``python -m api.routes README.md`` renders again from the file). Tests check that every example
still matches its operation's schema and that the README shows what the file holds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).with_name("examples.json")
BLOCK = re.compile(r"(<!-- examples: (?P<tags>[^>]*?) -->\n)(?P<body>.*?)(<!-- /examples -->)", re.S)
LIST_SHOWN = 2  # items of a list shown in the README (the OpenAPI document keeps them all)


def load(path: Path = EXAMPLES) -> dict[str, dict]:
    return json.loads(path.read_text()) if path.exists() else {}


class Recorder:
    """Passes calls through to ``http`` (a TestClient) and keeps the first successful JSON
    exchange of each operation of ``app``, in the order met."""

    def __init__(self, http, app):
        self.http = http
        self.examples: dict[str, dict] = {}
        # Each operation's path template as a pattern; literal segments before parameters,
        # so that /orders/stream is not taken for /orders/{order_number}.
        templates = [(method.upper(), path) for path, methods in app.openapi()["paths"].items() for method in methods]
        templates.sort(key=lambda t: t[1].count("{"))
        self._patterns = [
            (m, p, re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(p)) + "$")) for m, p in templates
        ]

    def __getattr__(self, name: str):
        return getattr(self.http, name)

    def _operation(self, method: str, path: str) -> str | None:
        return next((f"{m} {p}" for m, p, pattern in self._patterns if m == method and pattern.match(path)), None)

    def _record(self, method: str, url: str, response, **kw) -> None:
        operation = self._operation(method, url.split("?")[0])
        if operation is None or operation in self.examples or not 200 <= response.status_code < 300:
            return
        if not response.headers.get("content-type", "").startswith("application/json"):
            return
        entry: dict[str, Any] = {"path": url.split("?")[0], "status": response.status_code, "answer": response.json()}
        if kw.get("params"):
            entry["params"] = {k: str(v) for k, v in kw["params"].items()}
        if kw.get("json") is not None:
            entry["request"] = kw["json"]
        self.examples[operation] = entry

    def request(self, method: str, url: str, **kw):
        response = self.http.request(method, url, **kw)
        self._record(method.upper(), url, response, **kw)
        return response

    def get(self, url: str, **kw):
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw):
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw):
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw):
        return self.request("DELETE", url, **kw)

    def save(self, path: Path = EXAMPLES) -> None:
        path.write_text(json.dumps(self.examples, indent=1, sort_keys=False) + "\n")


def attach(spec: dict, examples: dict[str, dict]) -> dict:
    """The OpenAPI document with each recorded request and answer as its operation's example."""
    for operation, entry in examples.items():
        method, path = operation.split(" ", 1)
        found = spec.get("paths", {}).get(path, {}).get(method.lower())
        if found is None:
            continue
        if "request" in entry and "requestBody" in found:
            for media in found["requestBody"].get("content", {}).values():
                media["example"] = entry["request"]
        answer = found.get("responses", {}).get(str(entry["status"]))
        if answer is not None:
            for media in answer.get("content", {}).values():
                media["example"] = entry["answer"]
    return spec


def _trimmed(value: Any) -> Any:
    if isinstance(value, list):
        shown = [_trimmed(v) for v in value[:LIST_SHOWN]]
        return shown + ([f"... {len(value) - LIST_SHOWN} more"] if len(value) > LIST_SHOWN else [])
    if isinstance(value, dict):
        return {k: _trimmed(v) for k, v in value.items()}
    return value


def _shown(value: Any) -> str:
    """JSON with one line per key of the top object (compact below it): short, and still valid JSON."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value)
    lines = [f" {json.dumps(k)}: {json.dumps(v, separators=(', ', ': '))}" for k, v in value.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


def _tags(spec: dict) -> dict[str, list[str]]:
    return {
        f"{method.upper()} {path}": operation.get("tags", [])
        for path, methods in spec.get("paths", {}).items()
        for method, operation in methods.items()
    }


def section(tags: list[str], examples: dict[str, dict], spec: dict) -> str:
    """The README text of the recorded exchanges of the operations with these tags, in walk order."""
    tagged = _tags(spec)
    out = []
    for operation, entry in examples.items():
        if not set(tagged.get(operation, ())) & set(tags):
            continue
        method = operation.split(" ", 1)[0]
        query = "?" + "&".join(f"{k}={v}" for k, v in entry["params"].items()) if entry.get("params") else ""
        out.append(f"<details><summary><code>{method} {entry['path']}{query}</code> → {entry['status']}</summary>\n")
        if "request" in entry:
            out.append("```json\n" + _shown(entry["request"]) + "\n```\n")
        out.append("answer:\n\n```json\n" + _shown(_trimmed(entry["answer"])) + "\n```\n</details>\n")
    return "\n".join(out)


def render(readme: str, examples: dict[str, dict], spec: dict) -> str:
    """The README with every examples block written from ``examples``."""

    def block(m: re.Match) -> str:
        tags = [t.strip() for t in m.group("tags").split(",")]
        return m.group(1) + "\n" + section(tags, examples, spec) + "\n" + m.group(4)

    return BLOCK.sub(block, readme)
