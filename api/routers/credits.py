"""What the escrow contracts owe a recipient whose token refused a payout or a refund, and
what it claimed: one ledger per contract and token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.deps import service
from api.models.common import CreditLedgerOut
from api.problems import COMMON, responses
from api.service import Service

router = APIRouter(tags=["credits"], responses=responses(*COMMON))

# The route that builds each contract's claim.
CLAIM_ROUTES = {
    "C2CSettlement": "/settlements/claim-credit",
    "LiquorCases": "/liquor/claim-credit",
    "GroupBuy": "/group-buy/claim-credit",
    "CrossBorderEscrow": "/cross-border/claim-credit",
}


@router.get(
    "/credits/{address}",
    response_model=list[CreditLedgerOut],
    summary="What each contract credited an address (a token refused to pay it), what it claimed and what is owed",
)
def credits_of(
    address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")], svc: Service = Depends(service)
) -> list[dict]:
    return [
        dict(
            ledger,
            address=svc.manifest.contract(ledger["contract"]).address,
            claim_route=CLAIM_ROUTES[ledger["contract"]],
        )
        for ledger in svc.credits.credits_of(address)
    ]
