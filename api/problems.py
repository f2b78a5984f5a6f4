"""RFC 9457 problem details for every error the API returns, and their OpenAPI declarations."""

from __future__ import annotations

from eth_utils import to_checksum_address
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.models.common import Problem
from engine.accounts.account import AccountRefused, CodeTooSoon
from engine.accounts.factors import PasswordRefused
from engine.accounts.feedback import FeedbackRefused
from engine.accounts.profile import ProfileIncomplete, ProfileRefused
from engine.application import Conflict, CreditLimitExceeded, NotFound
from engine.chain.rpc import RpcError, RpcUnavailable
from engine.chain.transactions import Reverted, TokenUnsupported, TxRejected
from engine.cross_border.freight import FreightError, HistoryRefused, NoComparables
from engine.cross_border.orders import QuoteError, RateError, RateSignatureRefused
from engine.delivery.couriers import CourierRefused
from engine.delivery.order import OrderRefused as CheckoutRefused
from engine.delivery.stock import StockRefused
from engine.group_buy.schemes import SchemeError
from engine.ids import canonical_json
from engine.liquor import ListingRefused
from engine.settlement.store_order import OrderRefused

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    422: "Unprocessable request",
    429: "Too many requests",
    502: "Node error",
    503: "Service unavailable",
}


class EngineHalted(Exception):
    """The engine stopped following the node (it serves another chain): nothing is built on it."""


def problem(status: int, title: str, detail: str, headers: dict | None = None, **extra) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def responses(*statuses: int) -> dict:
    """OpenAPI declarations of the problem documents a route can answer with."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": TITLES.get(status, "Error"),
        }
        for status in statuses
    }


# What any request can be answered with: a body that is no JSON or no UTF-8 (400), one over
# the size limit (413), one that does not match the schema (422).
ANY_REQUEST = (400, 413, 422)


def problem_openapi(spec: dict) -> dict:
    """Error responses carry only ``application/problem+json`` (what is actually sent), every
    operation declares what any request can get, and the framework's own validation-error
    schemas, never sent, are dropped."""
    for methods in spec.get("paths", {}).values():
        for operation in methods.values():
            answers = operation.setdefault("responses", {})
            for status in ANY_REQUEST:
                answers.setdefault(str(status), {"description": TITLES[status]})
            for code, answer in answers.items():
                if code[0] in "45":
                    answer["content"] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for unused in ("HTTPValidationError", "ValidationError"):
        spec.get("components", {}).get("schemas", {}).pop(unused, None)
    return spec


# What every route can answer: bad input (422) and a node that is down or errs.
COMMON = (422, 502, 503)


# Exceptions that become a problem document as they are: status and title.
SIMPLE = {
    Conflict: (409, "Conflict"),
    NotFound: (404, "Not found"),
    OrderRefused: (422, "Order refused"),
    ListingRefused: (422, "Listing refused"),
    SchemeError: (422, "Catalogue refused"),
    FreightError: (422, "Freight request refused"),
    NoComparables: (422, "No freight estimate"),
    HistoryRefused: (422, "Freight history refused"),
    RateError: (422, "Rate refused"),
    QuoteError: (422, "Quote refused"),
    AccountRefused: (409, "Account refused"),
    PasswordRefused: (422, "Password refused"),
    FeedbackRefused: (422, "Feedback refused"),
    CheckoutRefused: (409, "Checkout refused"),
    StockRefused: (422, "Stock refused"),
    CourierRefused: (422, "Courier refused"),
    CreditLimitExceeded: (422, "Over the credit limit"),
    EngineHalted: (503, "Engine halted"),
    RpcUnavailable: (503, "Node unavailable"),
    RpcError: (502, "Node error"),
}


def _simple(status: int, title: str):
    async def handler(_: Request, exc: Exception):
        return problem(status, title, str(exc))

    return handler


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        errors = [
            {
                "loc": [p if isinstance(p, (str, int)) else str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        return problem(422, "Invalid request", "the request does not match the schema", errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException):
        return problem(
            exc.status_code,
            TITLES.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    for kind, (status, title) in SIMPLE.items():
        app.add_exception_handler(kind, _simple(status, title))

    @app.exception_handler(Reverted)
    async def _reverted(_: Request, exc: Reverted):
        return problem(422, "Contract would revert", exc.revert.message, revert=exc.revert.as_dict())

    @app.exception_handler(RateSignatureRefused)
    async def _rate_signature(_: Request, exc: RateSignatureRefused):
        return problem(
            422,
            "Rate refused",
            str(exc),
            expected_document=exc.document,
            expected_message=canonical_json(exc.document).decode(),
        )

    @app.exception_handler(ProfileRefused)
    async def _profile(_: Request, exc: ProfileRefused):
        return problem(422, "Profile refused", str(exc), field=exc.field)

    @app.exception_handler(ProfileIncomplete)
    async def _incomplete(_: Request, exc: ProfileIncomplete):
        return problem(422, "Profile incomplete", str(exc), action=exc.action, missing=exc.missing)

    @app.exception_handler(CodeTooSoon)
    async def _too_soon(_: Request, exc: CodeTooSoon):
        return problem(429, "Too many requests", str(exc), headers={"Retry-After": str(exc.seconds_left)})

    @app.exception_handler(TokenUnsupported)
    async def _token(_: Request, exc: TokenUnsupported):
        return problem(422, "Token unsupported", str(exc), token=to_checksum_address(exc.token))

    @app.exception_handler(TxRejected)
    async def _rejected(_: Request, exc: TxRejected):
        return problem(exc.status, "Transaction rejected", str(exc), tx_hash=exc.tx_hash)
