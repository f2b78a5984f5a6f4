"""The group-buy contract's actions: one table drives the unsigned-transaction routes
(``POST /group-buy/<name>``) and the ``orderchain wallet campaign`` commands. Opening a
campaign is not a row: its arguments come from the store's catalogue (its own route).
"""

from __future__ import annotations

from api.actions.common import ContractAction
from api.models.group_buy import CampaignActionIn, ExtendIn, GroupBuyPledgeIn, LowerMoqIn

ACTIONS = (
    ContractAction(
        "pledge",
        "pledge",
        "backer",
        GroupBuyPledgeIn,
        lambda b: (b.campaign_id, b.quantity, bytes.fromhex(b.confirmation_hash[2:])),
        "Pledge units, paying their deposits into the contract, with the signed confirmation's hash",
    ),
    ContractAction(
        "lower-moq",
        "lowerMoq",
        "enterprise",
        LowerMoqIn,
        lambda b: (b.campaign_id, b.moq),
        "Lower an open campaign's MOQ (production triggers at once if the pledges reach it)",
    ),
    ContractAction(
        "extend-target-date",
        "extendTargetDate",
        "enterprise",
        ExtendIn,
        lambda b: (b.campaign_id, b.target_date),
        "Extend an open campaign's target date (within a year of its opening)",
    ),
    ContractAction(
        "cancel",
        "cancel",
        "enterprise",
        CampaignActionIn,
        lambda b: (b.campaign_id,),
        "Cancel a campaign that has not succeeded: every backer may refund at once",
    ),
    ContractAction(
        "collect",
        "collect",
        "enterprise",
        CampaignActionIn,
        lambda b: (b.campaign_id,),
        "After success, collect the deposits",
    ),
    ContractAction(
        "refund",
        "refund",
        "backer",
        CampaignActionIn,
        lambda b: (b.campaign_id,),
        "A backer of a failed or cancelled campaign takes its deposits back",
    ),
)
