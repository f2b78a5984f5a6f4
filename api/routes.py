"""Every route of the API and its OpenAPI document: problem answers, and the requests and
answers recorded from the demo walk as examples (:mod:`api.examples`).

``python -m api.routes README.md`` writes the recorded examples into the README's blocks
(``make examples`` records them first).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi import FastAPI

from api import examples, problems
from api.routers import (
    accounts,
    buyers,
    chain,
    credits,
    cross_border,
    delivery,
    evidence,
    freight,
    group_buy,
    identity,
    liquor,
    reputation,
    stores,
)
from api.routers import settlement as settlements

ROUTERS = (
    stores.router,
    settlements.router,
    liquor.router,
    liquor.metadata_router,
    group_buy.router,
    group_buy.actions,
    evidence.router,
    freight.router,
    cross_border.router,
    cross_border.notices_router,
    credits.router,
    accounts.router,
    identity.router,
    reputation.router,
    delivery.router,
    delivery.payments,
    buyers.router,
    chain.router,
)


def include_routers(app: FastAPI) -> FastAPI:
    """Adds every route to ``app``, whose OpenAPI document then carries the problem answers
    and the recorded examples (``api/examples.json``)."""
    for router in ROUTERS:
        app.include_router(router)
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = examples.attach(problems.problem_openapi(generate()), examples.load())
        return app.openapi_schema

    app.openapi = openapi
    return app


def spec_without_service() -> dict:
    """The OpenAPI document, built without a node (describing the routes needs none)."""
    return include_routers(FastAPI()).openapi()


def main(argv: list[str]) -> int:
    readme = Path(argv[0] if argv else "README.md")
    text = readme.read_text()
    rendered = examples.render(text, examples.load(), spec_without_service())
    readme.write_text(rendered)
    print(f"{readme}: examples " + ("written" if rendered != text else "up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
