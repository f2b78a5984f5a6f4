"""EvidenceAnchor on ape's in-process chain: roots anchored once by a witness, proofs that
the contract and the engine's Merkle code agree on."""

import ape
import pytest
from eth_utils import keccak

from engine.evidence import merkle


@pytest.fixture(scope="module")
def witness(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def anchor(project, owner, witness):
    return project.EvidenceAnchor.deploy(owner, witness, sender=owner)


def bundles(n: int) -> list[bytes]:
    return [keccak(text=f"bundle {i}") for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_every_bundle_of_an_anchored_batch_proves_its_batch_and_time(anchor, witness, n):
    hashes = bundles(n) if n != 13 else [keccak(text=f"other {i}") for i in range(n)]
    root = merkle.root(hashes)
    receipt = anchor.anchor(root, n, sender=witness)
    log = receipt.decode_logs(anchor.Anchored)[0]
    assert (log.root.hex(), log.count, log.witness) == (root[2:], n, witness.address)
    block_time = ape.chain.provider.get_block(receipt.block_number).timestamp
    for i, h in enumerate(hashes):
        siblings = merkle.proof(hashes, i)
        assert merkle.root_of(h, siblings) == root
        assert anchor.verify(h, siblings) == (log.batchId, block_time)
    # A changed bundle, or a proof of another position, proves nothing.
    assert anchor.verify(keccak(text="tampered"), merkle.proof(hashes, 0)) == (0, 0)
    if n > 2:
        assert anchor.verify(hashes[0], merkle.proof(hashes, 1)) == (0, 0)


def test_only_a_witness_anchors_and_a_root_only_once(anchor, owner, witness, accounts):
    root = merkle.root(bundles(4))
    with ape.reverts(anchor.NotWitness, caller=accounts[5].address):
        anchor.anchor(root, 4, sender=accounts[5])
    with ape.reverts(anchor.EmptyBatch):
        anchor.anchor(b"\x00" * 32, 4, sender=witness)
    with ape.reverts(anchor.EmptyBatch):
        anchor.anchor(root, 0, sender=witness)
    anchor.anchor(root, 4, sender=witness)
    with ape.reverts(anchor.AlreadyAnchored):
        anchor.anchor(root, 4, sender=witness)
    with ape.reverts():
        anchor.setWitness(accounts[5], True, sender=witness)
    anchor.setWitness(accounts[5], True, sender=owner)
    anchor.anchor(merkle.root(bundles(5)), 5, sender=accounts[5])
    anchor.setWitness(accounts[5], False, sender=owner)
    with ape.reverts(anchor.NotWitness):
        anchor.anchor(merkle.root(bundles(6)), 6, sender=accounts[5])
