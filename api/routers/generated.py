"""Routes made from the rows of an action table: one ``POST`` per row, its request model
the row's, so FastAPI validates the body and OpenAPI documents it."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.actions.common import ContractAction
from api.deps import following
from api.models.common import ApproveIn, ClaimCreditIn, Unsigned
from api.service import Service


def post_unsigned(
    router: APIRouter,
    path: str,
    name: str,
    model: type[BaseModel],
    build: Callable[[BaseModel, Service], Unsigned],
    summary: str,
    description: str,
    answers: dict | None = None,
) -> None:
    """Adds ``POST path`` taking a ``model`` body and answering ``build(body, service)``."""

    def endpoint(body: BaseModel, svc: Service) -> Unsigned:
        return build(body, svc)

    endpoint.__name__ = name
    endpoint.__signature__ = inspect.Signature(
        [
            inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model),
            inspect.Parameter(
                "svc", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Service, default=Depends(following)
            ),
        ],
        return_annotation=Unsigned,
    )
    router.post(path, response_model=Unsigned, summary=summary, description=description, responses=answers)(endpoint)


def payment_routes(router: APIRouter, contract: str, prefix: str, approve: str, claim_credit: str) -> None:
    """``POST /approve`` (the unsigned ERC-20 approval of ``contract``) and ``POST /claim-credit``
    (the unsigned claim of what ``contract`` credited to a recipient whose token refused it),
    which every contract built on ``CreditedPayouts`` needs."""
    post_unsigned(
        router,
        "/approve",
        f"{prefix}_approve",
        ApproveIn,
        lambda body, svc: Unsigned(
            transaction=svc.transactions.approve(body.token.lower(), body.owner.lower(), body.amount, spender=contract)
        ),
        approve,
        f"The unsigned ERC-20 `approve` of the `{contract}` contract, sent by the owner.",
    )
    post_unsigned(
        router,
        "/claim-credit",
        f"{prefix}_claim_credit",
        ClaimCreditIn,
        lambda body, svc: Unsigned(
            transaction=svc.transactions.call(
                contract, "claimCredit", (body.token.lower(), body.to.lower()), body.owner.lower()
            )
        ),
        claim_credit,
        "The unsigned `claimCredit` transaction, sent by the recipient the payouts were credited to.",
    )


def action_routes(router: APIRouter, contract: str, actions: tuple[ContractAction, ...], prefix: str) -> None:
    """One ``POST /<name>`` per row, answering the unsigned transaction from the body's sender."""
    for action in actions:

        def build(body: BaseModel, svc: Service, action: ContractAction = action) -> Unsigned:
            return Unsigned(
                transaction=svc.transactions.call(contract, action.function, action.args(body), body.sender.lower())
            )

        post_unsigned(
            router,
            f"/{action.name}",
            f"{prefix}_" + action.name.replace("-", "_"),
            action.model,
            build,
            action.summary,
            f"The unsigned `{action.function}` transaction, sent by {action.by}.",
        )
