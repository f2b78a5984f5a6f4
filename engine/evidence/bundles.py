"""Order evidence (S1.1-S1.5, S2.1-S2.4): what a buyer signed when ordering, made tamper-evident.

An evidence bundle holds the sign-in (an EIP-4361 message and its signature, made fresh
before ordering), the order, the risk notice and the buyer's EIP-712 acknowledgement of
it, the buyer's EIP-712 confirmation of the order, and the deposit transaction. Its hash
is the keccak-256 of its canonical JSON (RFC 8785). The seed's RSA certificates are
replaced by the wallet's keys: every signature is checked against the buyer's address.

:func:`check` is the authenticity check (S2.3): the bundle is whole, every signature is
the buyer's, the confirmation names the order, the risk notice and the sign-in it came
with. The operator's witness then countersigns the bundle hash (:func:`seal`, S2.4), and
batches of bundle hashes are anchored on chain as Merkle roots (``engine/evidence/merkle.py``,
``contracts/EvidenceAnchor.sol``), the block's time being the timestamp (S2.2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

import rfc8785
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak, to_checksum_address
from eventsourcing.domain import Aggregate, event

from engine.chain.source import ChainAggregate, ChainSource
from engine.chain.typed_data import digest, typed_signer
from engine.ids import derive

DOMAIN_NAME, DOMAIN_VERSION = "orderchain evidence", "1"
DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
ACKNOWLEDGEMENT = [("riskNoticeHash", "bytes32"), ("campaignId", "uint256"), ("buyer", "address")]
CONFIRMATION = [
    ("campaignId", "uint256"),
    ("schemeId", "bytes32"),
    ("term", "uint256"),
    ("quantity", "uint256"),
    ("unitPrice", "uint256"),
    ("deposit", "uint256"),
    ("riskNoticeHash", "bytes32"),
    ("signInHash", "bytes32"),
    ("buyer", "address"),
]
PARTS = ("sign_in", "order", "risk_notice", "acknowledgement", "confirmation", "deposit")


class EvidenceError(ValueError):
    """The evidence cannot be made as asked (the reason says why)."""


def canonical(document: Any) -> bytes:
    """RFC 8785 canonical JSON (amounts travel as decimal strings, so no number loses digits)."""
    return rfc8785.dumps(document)


def hash_of(document: Any) -> str:
    return "0x" + keccak(canonical(document)).hex()


def text_hash(text: str) -> str:
    return "0x" + keccak(text.encode()).hex()


def _typed(primary: str, fields: list[tuple[str, str]], domain: dict, message: dict) -> dict:
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, primary: [{"name": n, "type": t} for n, t in fields]},
        "primaryType": primary,
        "domain": domain,
        "message": message,
    }


def domain(chain_id: int, contract: str) -> dict:
    """The EIP-712 domain of evidence signatures: this chain and the group-buy contract."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(contract),
    }


def acknowledgement_typed_data(dom: dict, risk_notice: str, campaign_id: int, buyer: str) -> dict:
    """What the buyer signs to acknowledge the risk notice (S1.3)."""
    return _typed(
        "RiskAcknowledgement",
        ACKNOWLEDGEMENT,
        dom,
        {"riskNoticeHash": text_hash(risk_notice), "campaignId": str(campaign_id), "buyer": to_checksum_address(buyer)},
    )


def confirmation_typed_data(dom: dict, order: dict, risk_notice: str, sign_in_message: str) -> dict:
    """What the buyer signs to confirm the order (S1.4): the order's terms, the risk notice
    and the sign-in it was shown under."""
    return _typed(
        "OrderConfirmation",
        CONFIRMATION,
        dom,
        {
            "campaignId": str(order["campaign_id"]),
            "schemeId": order["scheme_hash"],
            "term": str(order["term"]),
            "quantity": str(order["quantity"]),
            "unitPrice": str(order["unit_price"]),
            "deposit": str(order["deposit"]),
            "riskNoticeHash": text_hash(risk_notice),
            "signInHash": text_hash(sign_in_message),
            "buyer": to_checksum_address(order["buyer"]),
        },
    )


def message_signer(text: str, signature: str) -> str | None:
    try:
        return Account.recover_message(encode_defunct(text=text), signature=signature).lower()
    except Exception:
        return None


def bundle(
    sign_in: dict, order: dict, risk_notice: str, acknowledgement: dict, confirmation: dict, deposit: dict
) -> dict:
    """The evidence bundle: every part as given (signatures with the typed data they sign)."""
    return {
        "version": 1,
        "sign_in": sign_in,
        "order": order,
        "risk_notice": {"text": risk_notice, "hash": text_hash(risk_notice)},
        "acknowledgement": acknowledgement,
        "confirmation": confirmation,
        "deposit": deposit,
    }


def check(b: dict, now: datetime | None = None, max_sign_in_age: int | None = None) -> dict:
    """The authenticity check of a bundle: every signature is the buyer's and every part
    names the others. Returns ``{"ok", "hash", "buyer", "checks": {name: bool}, "problems"}``."""
    problems: list[str] = []
    checks: dict[str, bool] = {}
    missing = [p for p in PARTS if p not in b]
    if missing:
        return {"ok": False, "hash": None, "buyer": None, "checks": {}, "problems": [f"missing {', '.join(missing)}"]}
    try:
        bundle_hash = hash_of(b)
    except Exception as exc:  # not canonical JSON (a float out of range, a non-string key...)
        return {"ok": False, "hash": None, "buyer": None, "checks": {}, "problems": [f"not canonical JSON: {exc}"]}
    order = b["order"]
    buyer = str(order.get("buyer", "")).lower()
    sign_in = b["sign_in"]

    checks["sign_in"] = message_signer(sign_in.get("message", ""), sign_in.get("signature", "")) == buyer
    if not checks["sign_in"]:
        problems.append("the sign-in is not signed by the buyer")
    if now is not None and checks["sign_in"]:
        issued = _sign_in_time(sign_in["message"])
        fresh = issued is not None and (max_sign_in_age is None or (now - issued).total_seconds() <= max_sign_in_age)
        checks["sign_in_fresh"] = fresh
        if not fresh:
            problems.append("the sign-in is not a fresh one")
    notice = b["risk_notice"]
    checks["risk_notice"] = text_hash(notice.get("text", "")) == notice.get("hash")
    if not checks["risk_notice"]:
        problems.append("the risk notice does not match its hash")
    ack = b["acknowledgement"]
    ack_typed = ack.get("typed_data") or {}
    checks["acknowledgement"] = typed_signer(ack_typed, ack.get("signature", "")) == buyer and ack_typed.get(
        "message", {}
    ).get("riskNoticeHash") == notice.get("hash")
    if not checks["acknowledgement"]:
        problems.append("the risk acknowledgement is not the buyer's signature of this risk notice")
    conf = b["confirmation"]
    conf_typed = conf.get("typed_data") or {}
    message = conf_typed.get("message", {})
    names_order = (
        message.get("campaignId") == str(order.get("campaign_id"))
        and message.get("quantity") == str(order.get("quantity"))
        and message.get("unitPrice") == str(order.get("unit_price"))
        and message.get("deposit") == str(order.get("deposit"))
        and message.get("schemeId") == order.get("scheme_hash")
        and message.get("term") == str(order.get("term"))
        and message.get("riskNoticeHash") == notice.get("hash")
        and message.get("signInHash") == text_hash(sign_in.get("message", ""))
    )
    checks["confirmation"] = typed_signer(conf_typed, conf.get("signature", "")) == buyer and names_order
    if not checks["confirmation"]:
        problems.append("the order confirmation is not the buyer's signature of this order, notice and sign-in")
    deposit = b["deposit"]
    checks["deposit"] = (
        bool(conf_typed)
        and deposit.get("confirmation_hash") == _safe_digest(conf_typed)
        and str(deposit.get("campaign_id")) == str(order.get("campaign_id"))
        and str(deposit.get("backer", "")).lower() == buyer
    )
    if not checks["deposit"]:
        problems.append("the deposit does not record this confirmation for this buyer and campaign")
    return {"ok": not problems, "hash": bundle_hash, "buyer": buyer, "checks": checks, "problems": problems}


def _safe_digest(typed: dict) -> str | None:
    try:
        return digest(typed)
    except Exception:
        return None


def _sign_in_time(message: str) -> datetime | None:
    for line in message.splitlines():
        if line.startswith("Issued At: "):
            try:
                return datetime.fromisoformat(line.removeprefix("Issued At: ").replace("Z", "+00:00")).astimezone(UTC)
            except ValueError:
                return None
    return None


def seal(bundle_hash: str, witness) -> str:
    """The witness's countersignature of a bundle hash (EIP-191 over its 32 bytes)."""
    return "0x" + bytes(witness.sign_message(encode_defunct(primitive=bytes.fromhex(bundle_hash[2:]))).signature).hex()


def seal_signer(bundle_hash: str, signature: str) -> str | None:
    try:
        return Account.recover_message(
            encode_defunct(primitive=bytes.fromhex(bundle_hash[2:])), signature=signature
        ).lower()
    except Exception:
        return None


# -- the chain: batches anchored by EvidenceAnchor


def fold_batch(logs: list[dict]) -> dict:
    state: dict = {"steps": []}
    for log in logs:
        if log["event"] == "Anchored":
            a, coords = log["args"], log["coords"]
            state.update(
                root=a["root"],
                count=a["count"],
                witness=a["witness"],
                anchored_at=a["anchoredAt"],
                tx_hash=coords["tx_hash"],
                block_number=coords["block_number"],
            )
            state["steps"].append(
                {
                    "step": "Anchored",
                    "block_number": coords["block_number"],
                    "tx_hash": coords["tx_hash"],
                    "log_index": coords["log_index"],
                }
            )
    return state


class AnchoredBatch(ChainAggregate):
    """A batch of evidence-bundle hashes anchored by ``EvidenceAnchor``, keyed by its batch id."""

    kind = "evidence-batch"
    fold = staticmethod(fold_batch)


CONTRACT = "EvidenceAnchor"
SOURCES = (
    ChainSource(
        contract=CONTRACT, aggregate=AnchoredBatch, events=frozenset({"Anchored"}), key="batchId", opens="Anchored"
    ),
)


# -- off chain: recorded bundles and the batches they are anchored in

RISK_NOTICE = (
    "Risk notice. By confirming this order you commit to {quantity} unit(s) of scheme {scheme} for "
    "production cycle {term} at {unit_price} base units each, and pay a deposit of {deposit} base units "
    "into the GroupBuy escrow now. If the campaign reaches its minimum order quantity, production starts "
    "and the deposit is paid to the enterprise: it is not refunded, and the balance of the price is due "
    "on delivery; if you do not pay it, the deposit is forfeit and the enterprise may claim the damage "
    "its production caused, under the law governing this sale. If the campaign fails or is cancelled, "
    "you take your deposit back from the contract. Your signatures are evidence of this order."
)


def risk_notice(order: dict) -> str:
    """The legal and financial consequences of default, for this order (S1.3)."""
    return RISK_NOTICE.format(**order)


class EvidenceRecord(Aggregate):
    """An order's evidence bundle, checked and sealed, keyed by its hash; later batched for anchoring."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Recorded: ClassVar[type[Any]]
        Batched: ClassVar[type[Any]]

    @staticmethod
    def create_id(bundle_hash: str) -> UUID:
        return derive("evidence", bundle_hash)

    @event("Recorded")
    def __init__(self, bundle_hash: str, bundle: dict, seal: str, witness: str, campaign_id: int, backer: str):
        self.bundle_hash = bundle_hash
        self.bundle = bundle
        self.seal = seal
        self.witness = witness
        self.campaign_id = campaign_id
        self.backer = backer
        self.root: str | None = None

    @event("Batched")
    def batched(self, root: str, position: int, bundle_hash: str):
        """Taken into the batch of ``root`` at ``position`` (the event names the bundle for the views)."""
        self.root = root
        self.position = position


class EvidenceBatch(Aggregate):
    """The bundle hashes of one Merkle root, in their leaf order (what every proof is made from)."""

    if TYPE_CHECKING:  # the event classes @event makes, declared for the type checker
        Made: ClassVar[type[Any]]

    @staticmethod
    def create_id(root: str) -> UUID:
        return derive("evidence-batch", root)

    @event("Made")
    def __init__(self, root: str, hashes: list[str]):
        self.root = root
        self.hashes = hashes
