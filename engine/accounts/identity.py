"""Identity attested on chain with the Ethereum Attestation Service (the seed's identity
verification system, its record kept where anyone can check it).

The operator reviews a completed profile and attests it with the real ``EAS`` contract under
the schema :data:`SCHEMA`: a **salted hash** of the identity record (:func:`identity_record`:
login, name, verified phone, company, default address) and a level, never the personal data
itself. The salt stays with the account, off chain; without it nobody can test a guess of the
data against the hash. Changing the profile changes the record, so the attestation no longer
matches it until the operator attests again.

``Attested`` and ``Revoked`` logs carry no data (recipient, attester, uid, schema only), so
the reader fetches the attestation at the log's block (:func:`fetch_attestation`, an
``eth_call`` pinned to the block's hash) and records what it read with the log: the views
rebuild from the event store without the node. Attestations under other schemas (the EAS
contract is shared) are skipped before anything is fetched.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from engine.chain.manifest import DeployedContract
from engine.chain.rpc import Rpc
from engine.chain.source import ChainAggregate, ChainSource
from engine.ids import canonical_json

CONTRACT = "EAS"
REGISTRY = "SchemaRegistry"
SCHEMA = "bytes32 identityHash,uint8 level"
LEVELS = {1: "profile reviewed: name, verified phone and address", 2: "identity document checked"}
ZERO32 = "0x" + "00" * 32
# struct Attestation { uid, schema, time, expirationTime, revocationTime, refUID, recipient,
# attester, revocable, data } as IEAS.getAttestation returns it.
ATTESTATION = "(bytes32,bytes32,uint64,uint64,uint64,bytes32,address,address,bool,bytes)"
GET_ATTESTATION = keccak(text="getAttestation(bytes32)")[:4]


class AttestationRefused(ValueError):
    """An attestation the profile or the request does not allow."""


def schema_uid(schema: str = SCHEMA, resolver: str = "0x" + "00" * 20, revocable: bool = True) -> str:
    """The schema's UID as ``SchemaRegistry`` derives it: keccak256(schema, resolver, revocable), packed."""
    return "0x" + keccak(schema.encode() + bytes.fromhex(resolver[2:]) + bytes([1 if revocable else 0])).hex()


def identity_record(login: str, name: str | None, phone: str | None, company: str | None, address: dict | None) -> dict:
    """What an attestation vouches for, in one canonical document."""
    return {
        "login": login,
        "name": name,
        "phone": phone,
        "company": company,
        "address": None if address is None else {"lines": list(address["lines"]), "country": address["country"]},
    }


def identity_hash(salt: str, record: dict) -> str:
    """keccak256(salt || canonical JSON of the record): what goes on chain."""
    return "0x" + keccak(bytes.fromhex(salt) + canonical_json(record)).hex()


def encode_data(hash_: str, level: int) -> bytes:
    if level not in LEVELS:
        raise AttestationRefused(f"a level is one of {', '.join(map(str, LEVELS))}")
    return abi_encode(["bytes32", "uint8"], [bytes.fromhex(hash_[2:]), level])


def decode_data(data: bytes) -> tuple[str, int] | None:
    try:
        hash_, level = abi_decode(["bytes32", "uint8"], data)
    except Exception:  # not this schema's encoding
        return None
    return "0x" + hash_.hex(), int(level)


def fetch_attestation(rpc: Rpc, deployed: DeployedContract, raw: dict, args: dict) -> dict | None:
    """The reader's enrichment of an ``Attested`` / ``Revoked`` log: the attestation as it
    stood at the log's block, or None for a log under another schema."""
    if args.get("schemaUID") != deployed.meta.get("identity_schema"):
        return None
    data = "0x" + (GET_ATTESTATION + bytes.fromhex(args["uid"][2:])).hex()
    result = rpc.call("eth_call", {"to": deployed.address, "data": data}, {"blockHash": raw["blockHash"]})
    (attestation,) = abi_decode([ATTESTATION], bytes.fromhex(result[2:]))
    _, _, made, expires, revoked, _, _, _, revocable, payload = attestation
    decoded = decode_data(payload)
    return dict(
        args,
        time=int(made),
        expiration_time=int(expires),
        revocation_time=int(revoked),
        revocable=bool(revocable),
        identity_hash=decoded[0] if decoded else None,
        level=decoded[1] if decoded else 0,
    )


def fold_attestation(logs: list[dict]) -> dict:
    """An attestation's state from its canonical logs: attested (with what it says), then perhaps revoked."""
    state: dict[str, Any] = {"attested": False, "revoked": False}
    for entry in logs:
        args = entry["args"]
        if entry["event"] == "Attested":
            state.update(
                attested=True,
                attester=args["attester"],
                recipient=args["recipient"],
                identity_hash=args["identity_hash"],
                level=args["level"],
                time=args["time"],
                expiration_time=args["expiration_time"],
                block_number=entry["coords"]["block_number"],
            )
        elif entry["event"] == "Revoked":
            state.update(revoked=True, revocation_time=args["revocation_time"])
    return state


def holds(state: dict, trusted: set[str], now: int) -> bool:
    """Whether an attestation's state vouches now: attested by a trusted attester, not revoked, not expired."""
    expires = state.get("expiration_time") or 0
    return (
        state.get("attested", False)
        and not state.get("revoked", False)
        and state.get("attester") in trusted
        and (expires == 0 or now < expires)
    )


class IdentityAttestation(ChainAggregate):
    """One EAS attestation under the identity schema, keyed by its uid."""

    kind = "identity-attestation"
    fold = staticmethod(fold_attestation)


SOURCES = (
    ChainSource(
        contract=CONTRACT,
        aggregate=IdentityAttestation,
        events=frozenset({"Attested", "Revoked"}),
        key="uid",
        opens="Attested",
        enrich=fetch_attestation,
    ),
)
