"""Routes made from the rows of an action table: one ``POST`` per row, its request model
the row's, so FastAPI validates the body and OpenAPI documents it."""

from __future__ import annotations

import inspect
from typing import Callable

from fastapi import APIRouter, Depends
from pydantic import BaseModel

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
