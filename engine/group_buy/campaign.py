"""Campaigns on chain (``contracts/GroupBuy.sol``): a campaign folded from its logs, its
status and progress, and the campaign page's expected effects (:func:`expected_effects`)."""

from __future__ import annotations

from engine.chain.source import ChainAggregate, ChainSource, step_of
from engine.credits import CreditAccount
from engine.purchases import Purchase
from engine.signals import Signal, last_timestamp

DAY = 86_400

# -- the campaign page


def expected_effects(campaigns: list[dict], now: int) -> dict:
    """The campaign page's expected effects, from data: most popular (largest queued
    quantity), most potential (the most pledged over the last 24 hours), most urgent (the
    nearest target date of an open campaign still short of its MOQ), most economical
    (lowest unit price). Each campaign: ``{"id", "pledged", "moq", "unit_price",
    "target_date", "status", "pledges": [(timestamp, quantity)]}``; ties go to the lower id.
    None where no campaign qualifies."""
    live = [c for c in campaigns if c["status"] in ("open", "succeeded")]

    def best(items, key):
        items = list(items)
        return min(items, key=lambda c: (key(c), c["id"]))["id"] if items else None

    recent = {c["id"]: sum(q for t, q in c.get("pledges", ()) if now - DAY < t <= now) for c in live}
    return {
        "most_popular": best((c for c in live if c["pledged"] > 0), lambda c: -c["pledged"]),
        "most_potential": best((c for c in live if recent[c["id"]] > 0), lambda c: -recent[c["id"]]),
        "most_urgent": best(
            (c for c in live if c["status"] == "open" and c["pledged"] < c["moq"] and c["target_date"] >= now),
            lambda c: c["target_date"],
        ),
        "most_economical": best(live, lambda c: c["unit_price"]),
        "growth_24h": recent,
    }


# -- the chain: GroupBuy campaigns


def fold_campaign(logs: list[dict]) -> dict:
    """A campaign from its canonical logs: terms, pledges, backers, targets and payouts."""
    state: dict = {
        "steps": [],
        "pledged": 0,
        "deposits": 0,
        "collected": 0,
        "refunded": 0,
        "backers": {},
        "pledges": [],
        "succeeded": False,
        "cancelled": False,
    }
    for log in logs:
        name, a, coords = log["event"], log["args"], log["coords"]
        step = step_of(log)
        if name == "CampaignOpened":
            state.update(
                enterprise=a["enterprise"],
                scheme_hash=a["schemeId"],
                cycle=a["cycle"],
                token=a["token"],
                unit_price=a["unitPrice"],
                deposit_per_unit=a["depositPerUnit"],
                moq=a["moq"],
                initial_moq=a["moq"],
                max_quantity=a["maxQuantity"],
                target_date=a["targetDate"],
                opened_at=coords.get("block_timestamp"),
            )
        elif name == "Pledged":
            backer = state["backers"].setdefault(a["backer"], {"quantity": 0, "deposit": 0, "refunded": False})
            backer["quantity"] += a["quantity"]
            backer["deposit"] += a["deposit"]
            state["pledged"] = a["pledged"]
            state["deposits"] += a["deposit"]
            state["pledges"].append(
                {
                    "backer": a["backer"],
                    "quantity": a["quantity"],
                    "deposit": a["deposit"],
                    "confirmation_hash": a["confirmationHash"],
                    "tx_hash": coords["tx_hash"],
                    "block_number": coords["block_number"],
                    "timestamp": coords.get("block_timestamp"),
                }
            )
            step.update(backer=a["backer"], quantity=a["quantity"], deposit=a["deposit"])
        elif name == "ProductionTriggered":
            state.update(
                succeeded=True,
                triggered={
                    "pledged": a["pledged"],
                    "moq": a["moq"],
                    "tx_hash": coords["tx_hash"],
                    "timestamp": coords.get("block_timestamp"),
                },
            )
            step.update(pledged=a["pledged"], moq=a["moq"])
        elif name == "MoqLowered":
            state["moq"] = a["moq"]
            step.update(previous=a["previousMoq"], moq=a["moq"])
        elif name == "TargetDateExtended":
            state["target_date"] = a["targetDate"]
            step.update(previous=a["previousTargetDate"], target_date=a["targetDate"])
        elif name == "CampaignCancelled":
            state["cancelled"] = True
        elif name == "DepositsCollected":
            state["collected"] += a["amount"]
            step.update(amount=a["amount"], credited=a["credited"])
        elif name == "Refunded":
            state["refunded"] += a["amount"]
            state["backers"].setdefault(a["backer"], {"quantity": 0, "deposit": 0})["refunded"] = True
            step.update(backer=a["backer"], amount=a["amount"], credited=a["credited"])
        state["steps"].append(step)
    return state


def campaign_status(state: dict, now: int) -> str:
    """Where a campaign stands at ``now`` (unix time; a failure is the clock's doing, as on chain)."""
    if state.get("succeeded"):
        return "succeeded"
    if state.get("cancelled"):
        return "cancelled"
    return "failed" if now > state.get("target_date", 0) else "open"


def progress(state: dict, now: int) -> dict:
    """A campaign against its targets: quantity missing to the MOQ, room to the maximum, time left."""
    return {
        "status": campaign_status(state, now),
        "missing": max(0, state["moq"] - state["pledged"]),
        "room": state["max_quantity"] - state["pledged"],
        "seconds_left": max(0, state["target_date"] - now),
        "percent_of_moq": min(100, state["pledged"] * 100 // state["moq"]) if state["moq"] else 100,
    }


class Campaign(ChainAggregate):
    """A campaign of ``GroupBuy`` on one chain, keyed by its campaign id."""

    kind = "group-buy-campaign"
    fold = staticmethod(fold_campaign)


CONTRACT = "GroupBuy"
CAMPAIGN_EVENTS = frozenset(
    {
        "CampaignOpened",
        "Pledged",
        "ProductionTriggered",
        "MoqLowered",
        "TargetDateExtended",
        "CampaignCancelled",
        "DepositsCollected",
        "Refunded",
    }
)


class GroupBuyCredits(CreditAccount):
    """A recipient's claims of what the group-buy contract credited to it (a refund or collection whose
    log says ``credited``)."""

    kind = "group-buy-credit"


SOURCES = (
    ChainSource(
        contract=CONTRACT, aggregate=Campaign, events=CAMPAIGN_EVENTS, key="campaignId", opens="CampaignOpened"
    ),
    ChainSource(
        contract=CONTRACT, aggregate=GroupBuyCredits, events=frozenset({"CreditClaimed"}), key="recipient", opens=None
    ),
)


# -- what a campaign's outcome says of its backers and its enterprise (the reputation view's counters)

REPUTATION = {
    "pledge_honoured": "a pledge's deposit went into production: the campaign reached its minimum order quantity",
    "campaign_produced": "the enterprise's campaign reached its minimum order quantity and went into production",
    "campaign_cancelled": "the enterprise cancelled a campaign that had backers",
}


def reputation_signals(state: dict) -> list[Signal]:
    """The counters a campaign adds to once it went into production or was cancelled."""
    if "enterprise" not in state:
        return []
    if state.get("succeeded"):
        at = state["triggered"].get("timestamp")
        backers = [Signal(b, "pledge_honoured", True, at) for b in state["backers"]]
        return [Signal(state["enterprise"], "campaign_produced", True, at), *backers]
    if state.get("cancelled") and state["backers"]:
        return [Signal(state["enterprise"], "campaign_cancelled", False, last_timestamp(state["steps"]))]
    return []


# -- what a campaign records as each backer's purchase


def purchase_records(key: str, state: dict) -> list[Purchase]:
    """Each backer's pledges of a campaign (keyed by its id) at the campaign's unit price."""
    if "enterprise" not in state:
        return []
    status = "produced" if state["succeeded"] else ("cancelled" if state["cancelled"] else "pledged")
    out = []
    for backer, held in sorted(state["backers"].items()):
        if not held["quantity"]:
            continue
        first: dict = next((p for p in state["pledges"] if p["backer"] == backer), {})
        out.append(
            Purchase(
                buyer=backer,
                capability="group_buy",
                reference=key,
                seller=state["enterprise"],
                item=state["scheme_hash"],
                quantity=held["quantity"],
                unit_price=state["unit_price"],
                amount=held["quantity"] * state["unit_price"],
                token=state["token"],
                status="refunded" if held.get("refunded") else status,
                at=first.get("timestamp"),
                tx_hash=first.get("tx_hash"),
            )
        )
    return out
