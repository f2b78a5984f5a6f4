"""Stateful property test of EvidenceAnchor: random batches anchored by witnesses and by
strangers, witnesses named and removed, with time passing.

A model keeps the witnesses and every anchored batch. After every step: only a witness
ever anchored; a root is anchored once; the batch count is the model's; every bundle of
every anchored batch proves its own batch and time, and no bundle proves a batch it is not
in."""

import ape
from ape.exceptions import ContractLogicError
from eth_utils import keccak
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.evidence import merkle

SEEN = {"anchored": 0, "refused": 0, "renamed": 0}


def run_machine(project, owner, people):
    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = ape.chain.snapshot()

        @initialize()
        def deploy(self):
            self.c = project.EvidenceAnchor.deploy(owner, people[0], sender=owner)
            self.witnesses = {people[0].address}
            self.batches: list[dict] = []
            self.made = 0

        def teardown(self):
            ape.chain.restore(self.snapshot)

        @rule(who=st.integers(0, len(people) - 1), size=st.integers(1, 9), again=st.booleans())
        def anchor(self, who, size, again):
            if again and self.batches:   # the root of an anchored batch, once more
                hashes = self.batches[-1]["hashes"]
            else:
                hashes = [keccak(text=f"bundle {self.made + i}") for i in range(size)]
                self.made += size
            person = people[who]
            try:
                receipt = self.c.anchor(merkle.root(hashes), len(hashes), sender=person)
            except ContractLogicError:
                assert person.address not in self.witnesses or (again and self.batches), "a witness was refused"
                SEEN["refused"] += 1
                return
            assert person.address in self.witnesses, "a stranger anchored"
            assert not (again and self.batches), "a root was anchored twice"
            log = receipt.decode_logs(self.c.Anchored)[0]
            self.batches.append({"hashes": hashes, "id": log.batchId, "at": log.anchoredAt})
            SEEN["anchored"] += 1

        @rule(who=st.integers(0, len(people) - 1), allowed=st.booleans())
        def name_witness(self, who, allowed):
            self.c.setWitness(people[who], allowed, sender=owner)
            (self.witnesses.add if allowed else self.witnesses.discard)(people[who].address)
            SEEN["renamed"] += 1

        @rule(seconds=st.integers(1, 86_400))
        def time_passes(self, seconds):
            ape.chain.mine(1, timestamp=ape.chain.pending_timestamp + seconds)

        @invariant()
        def every_bundle_proves_its_own_batch_only(self):
            if not hasattr(self, "c"):
                return
            assert self.c.batchCount() == len(self.batches)
            for batch in self.batches:
                for i, h in enumerate(batch["hashes"]):
                    assert self.c.verify(h, merkle.proof(batch["hashes"], i)) == (batch["id"], batch["at"])
            if len(self.batches) > 1:
                first, last = self.batches[0], self.batches[-1]
                assert self.c.verify(first["hashes"][0], merkle.proof(last["hashes"], 0)) == (0, 0)

    Machine.TestCase.settings = settings(max_examples=8, stateful_step_count=25, deadline=None, derandomize=True,
                                         database=None)
    return Machine


def test_evidence_anchor_invariants_hold_across_random_sequences(project, owner, accounts):
    run_machine(project, owner, [accounts[3], accounts[4], accounts[5]]).TestCase().runTest()
    assert SEEN["anchored"] >= 5 and SEEN["refused"] >= 2 and SEEN["renamed"] >= 2, SEEN
