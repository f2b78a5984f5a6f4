"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from engine.application import Conflict, NotFound
from engine.rpc import RpcError, RpcUnavailable
from engine.transactions import Reverted, TxRejected

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return problem(422, "Invalid request", "the request does not match the schema", errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException):
        titles = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                  405: "Method not allowed", 409: "Conflict", 413: "Request too large"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict):
        return problem(409, "Conflict", str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound):
        return problem(404, "Not found", str(exc))

    @app.exception_handler(Reverted)
    async def _reverted(_: Request, exc: Reverted):
        return problem(422, "Contract would revert", exc.revert.message, revert=exc.revert.as_dict())

    @app.exception_handler(TxRejected)
    async def _rejected(_: Request, exc: TxRejected):
        return problem(exc.status, "Transaction rejected", str(exc), tx_hash=exc.tx_hash)

    @app.exception_handler(RpcUnavailable)
    async def _unavailable(_: Request, exc: RpcUnavailable):
        return problem(503, "Node unavailable", str(exc))

    @app.exception_handler(RpcError)
    async def _rpc(_: Request, exc: RpcError):
        return problem(502, "Node error", str(exc))
