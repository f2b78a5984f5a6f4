"""The anchorer: batches recorded order evidence and anchors each batch's Merkle root on chain.

Every round it takes the bundles not yet in a batch (oldest first, up to the batch size),
records their batch (the root and the hashes in leaf order, each bundle marked with its
position) in one transaction, then sends ``EvidenceAnchor.anchor`` for every recorded root
the contract does not know yet, signed with the witness key (the operator's; it only pays
gas). A crash between the two leaves a recorded root unanchored, which the next round
sends; a root the contract already holds is never sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from eth_account import Account

from engine.application import OrderEngine
from engine.chain.rpc import Rpc, RpcError
from engine.chain.transactions import Reverted, Transactions
from engine.evidence import merkle
from engine.evidence.bundles import CONTRACT

log = logging.getLogger("orderchain.anchorer")
BATCH_SIZE = 1_000


class Anchorer:
    """Batches and anchors evidence (see the module docstring)."""

    def __init__(
        self,
        app: OrderEngine,
        rpc: Rpc,
        transactions: Transactions,
        witness_key: str,
        unbatched: Callable[[int], list[str]],
        roots: Callable[[], list[str]],
        batch_size: int = BATCH_SIZE,
    ):
        """``unbatched(n)``: up to n bundle hashes waiting for a batch, oldest first; ``roots()``:
        the recorded roots the views have not seen anchored yet."""
        self.app = app
        self.rpc = rpc
        self.tx = transactions
        self.account = Account.from_key(witness_key)
        self.unbatched = unbatched
        self.roots = roots
        self.batch_size = batch_size
        self.anchored = 0

    def batch(self) -> str | None:
        """Records a batch of the bundles waiting for one; returns its root."""
        hashes = self.unbatched(self.batch_size)
        if not hashes:
            return None
        root = merkle.root(hashes)
        self.app.batch_evidence(root, hashes)
        return root

    def anchor(self, root: str, count: int) -> str | None:
        if self.tx.view(CONTRACT, "batchOf", bytes.fromhex(root[2:]))[0]:
            return None
        try:
            unsigned = self.tx.call(CONTRACT, "anchor", (bytes.fromhex(root[2:]), count), self.account.address)
        except Reverted as exc:
            log.warning("not anchoring %s: %s", root, exc.revert.message)
            return None
        signed = self.account.sign_transaction(unsigned)
        try:
            tx_hash = self.rpc.call("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
        except RpcError as exc:
            log.warning("anchoring %s failed: %s", root, exc)
            return None
        self.tx.result(tx_hash, wait=10)
        self.anchored += 1
        log.info("anchored %s (%d bundles) in %s", root, count, tx_hash)
        return tx_hash

    def run_once(self) -> list[str]:
        """One round: batch what waits, anchor every root not on chain yet; returns the transactions sent."""
        made = self.batch()
        sent = []
        for root in dict.fromkeys(self.roots() + ([made] if made else [])):
            batch = self.app.evidence_batch(root)
            if batch is not None and (tx_hash := self.anchor(root, len(batch.hashes))):
                sent.append(tx_hash)
        return sent
