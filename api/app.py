"""The FastAPI application."""

from __future__ import annotations

import time

from fastapi import FastAPI
from pydantic import TypeAdapter

from api import present, problems
from api.models.settlement import StoreOrderOut
from api.routes import include_routers
from api.service import Service
from api.web import pages
from engine import metrics


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, never reading more than that."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._too_large(send)
        # Read the body (at most ``limit`` bytes) before the app sees it, then replay it.
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message]), send)
            seen += len(message.get("body", b""))
            if seen > self.limit:
                return await self._too_large(send)
            chunks.append(message)
            more = message.get("more_body", False)
        await self.app(scope, _replay(chunks, receive), send)

    async def _too_large(self, send):
        body = (
            b'{"type":"about:blank","title":"Request too large","status":413,'
            b'"detail":"request body exceeds ' + str(self.limit).encode() + b' bytes"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class Timing:
    """Observes each HTTP request's duration in the request histogram, labelled by route template."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            metrics.REQUESTS.labels(getattr(route, "path", "unmatched"), scope["method"], str(status[0])).observe(
                time.perf_counter() - started
            )


def _replay(messages: list[dict], then=None):
    pending = list(messages)

    async def receive():
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def create_app(service: Service) -> FastAPI:
    app = FastAPI(
        title="orderchain",
        version="0.1.0",
        description="Event-sourced order engine on a smart-contract chain: escrowed C2C settlement of "
        "store orders, cases of liquor in custody as ERC-721 tokens, customised group buying with "
        "signed, anchored evidence, and cross-border orders in a notary escrow. Amounts are decimal "
        "strings of token base units. Every operation's example is a request and answer recorded "
        "from the demo walk.",
    )
    app.state.service = service
    order_out = TypeAdapter(StoreOrderOut)
    app.state.order_rows = present.RowCache(lambda row: order_out.dump_json(order_out.validate_python(row)))
    problems.install(app)
    include_routers(app)
    app.include_router(pages.router)  # the dashboard (not part of the API's OpenAPI document)
    app.add_middleware(BodyLimit, limit=service.settings.max_body_bytes)
    app.add_middleware(Timing)
    return app
