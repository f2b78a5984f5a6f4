"""Routes made from the rows of an action table: one ``POST`` per row, its request model
the row's, so FastAPI validates the body and OpenAPI documents it."""

from __future__ import annotations

import inspect
from typing import Callable

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ..actions import ContractAction
from ..deps import following
from ..models import Unsigned
from ..service import Service


def post_unsigned(router: APIRouter, path: str, name: str, model: type[BaseModel],
                  build: Callable[[BaseModel, Service], Unsigned], summary: str, description: str) -> None:
    """Adds ``POST path`` taking a ``model`` body and answering ``build(body, service)``."""
    def endpoint(body: BaseModel, svc: Service) -> Unsigned:
        return build(body, svc)

    endpoint.__name__ = name
    endpoint.__signature__ = inspect.Signature([
        inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model),
        inspect.Parameter("svc", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Service,
                          default=Depends(following)),
    ], return_annotation=Unsigned)
    router.post(path, response_model=Unsigned, summary=summary, description=description)(endpoint)


def action_routes(router: APIRouter, contract: str, actions: tuple[ContractAction, ...], prefix: str) -> None:
    """One ``POST /<name>`` per row, answering the unsigned transaction from the body's sender."""
    for action in actions:
        def build(body: BaseModel, svc: Service, action: ContractAction = action) -> Unsigned:
            return Unsigned(transaction=svc.transactions.call(contract, action.function, action.args(body),
                                                              body.sender.lower()))
        post_unsigned(router, f"/{action.name}", f"{prefix}_" + action.name.replace("-", "_"), action.model, build,
                      action.summary, f"The unsigned `{action.function}` transaction, sent by the {action.signer}.")
