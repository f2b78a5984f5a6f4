"""Merkle trees of 32-byte hashes as ``contracts/EvidenceAnchor.sol`` checks them.

Leaves are ``keccak256(abi.encode(hash))`` (for a bytes32 that is the keccak of its 32
bytes; hashing the leaf once more keeps a leaf from passing for an inner node) and each
pair is hashed in sorted order, as OpenZeppelin's ``MerkleProof`` does. A level with an odd
node out carries it up unchanged, so its proof has no sibling at that level.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import keccak


def _b(value: str | bytes) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else value


def leaf(bundle_hash: str | bytes) -> bytes:
    return keccak(_b(bundle_hash))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def levels(hashes: Sequence[str | bytes]) -> list[list[bytes]]:
    """Every level of the tree over ``hashes``, leaves first, the root last."""
    if not hashes:
        raise ValueError("a Merkle tree needs at least one hash")
    level = [leaf(h) for h in hashes]
    out = [level]
    while len(level) > 1:
        level = [_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
        out.append(level)
    return out


def root(hashes: Sequence[str | bytes]) -> str:
    return "0x" + levels(hashes)[-1][0].hex()


def proof(hashes: list[str | bytes], index: int) -> list[str]:
    """The siblings from the leaf at ``index`` up to the root."""
    siblings = []
    for level in levels(hashes)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            siblings.append("0x" + level[sibling].hex())
        index //= 2
    return siblings


def fold(bundle_hash: str | bytes, siblings: list[str]) -> list[str]:
    """Each node a proof passes through from a bundle hash: the leaf, then one node per
    sibling (the last is the root)."""
    nodes = [leaf(bundle_hash)]
    for sibling in siblings:
        nodes.append(_pair(nodes[-1], _b(sibling)))
    return ["0x" + n.hex() for n in nodes]


def root_of(bundle_hash: str | bytes, siblings: list[str]) -> str:
    """The root a proof leads to from a bundle hash (what the contract computes)."""
    return fold(bundle_hash, siblings)[-1]
