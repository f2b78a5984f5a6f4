"""Each process of the scale-out shape imports only what it runs (import-linter checks the
layers in `make test`; this checks what a started process actually loads)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HTTP_STACK = {"fastapi", "starlette", "uvicorn"}


def loaded(*modules: str) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after the command line and ``modules``."""
    code = (
        "import json, sys; import api.cli; "
        + "".join(f"import {m}; " for m in modules)
        + "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "process, modules, absent",
    [
        ("reader (orderchain engine --no-views)", ["engine.runner"], HTTP_STACK | {"projections"}),
        ("projector (orderchain project)", ["projections.runner"], HTTP_STACK),
    ],
)
def test_a_process_imports_only_what_it_runs(process, modules, absent):
    found = loaded(*modules)
    assert not (found & absent), f"the {process} loads {sorted(found & absent)}"


def test_the_api_worker_has_its_http_stack():
    assert HTTP_STACK - {"uvicorn"} <= loaded("api.app")
