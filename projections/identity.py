"""The identity view: the operator's attestations on chain (EAS), by the identity hash they vouch for.

Each row is one attestation under the identity schema as its canonical logs fold
(:func:`engine.accounts.identity.fold_attestation`): who attested, the hash and level, when it
expires, whether it was revoked. A reorganisation that drops the ``Attested`` log leaves no
logs, and the row goes. Which account a hash belongs to only the account knows (it keeps the
salt): :meth:`IdentityView.level_of` takes the hash the account's current record makes.
"""

from __future__ import annotations

from engine.accounts.identity import IdentityAttestation, fold_attestation, holds

from .chain_rows import ChainBatch, ChainRowsView, chain_events

COLUMNS = (
    "uid",
    "identity_hash",
    "level",
    "attester",
    "recipient",
    "attested_at",
    "expiration_time",
    "revoked",
    "revocation_time",
    "block_number",
)


class IdentityView(ChainRowsView):
    """Identity attestations (see the module docstring)."""

    name = "identity"
    version = 1
    retired = ("view_identity_logs",)  # the logs it kept itself before they were shared
    aggregates = (IdentityAttestation,)
    schema = (
        """CREATE TABLE IF NOT EXISTS view_identity_attestations (
            uid TEXT PRIMARY KEY, identity_hash TEXT, level INTEGER NOT NULL, attester TEXT NOT NULL,
            recipient TEXT NOT NULL, attested_at BIGINT NOT NULL, expiration_time BIGINT NOT NULL,
            revoked BOOLEAN NOT NULL, revocation_time BIGINT, block_number BIGINT NOT NULL, seq BIGINT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS view_identity_by_hash ON view_identity_attestations (identity_hash)",
    )
    tables = ("view_identity_attestations",)
    handles = chain_events(aggregates)

    def write(self, batch: ChainBatch, changed: list[tuple[str, str, list[dict], int]]) -> None:
        for _kind, uid, logs, seq in changed:
            state = fold_attestation(logs)
            if not state["attested"]:  # its Attested log left the chain
                self.db.execute("DELETE FROM view_identity_attestations WHERE uid = ?", (uid,))
                continue
            self.db.execute(
                "INSERT INTO view_identity_attestations (uid, identity_hash, level, attester, recipient, attested_at, "
                "expiration_time, revoked, revocation_time, block_number, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (uid) DO UPDATE SET revoked = excluded.revoked, "
                "revocation_time = excluded.revocation_time, seq = excluded.seq",
                (
                    uid,
                    state["identity_hash"],
                    state["level"],
                    state["attester"],
                    state["recipient"],
                    state["time"],
                    state["expiration_time"],
                    state["revoked"],
                    state.get("revocation_time"),
                    state["block_number"],
                    seq,
                ),
            )

    # -- queries

    def attestations(self, identity_hashes: list[str]) -> list[dict]:
        """The attestations of these hashes (an account's current and earlier records), newest first."""
        if not identity_hashes:
            return []
        rows = self.db.fetchall(
            f"SELECT {', '.join(COLUMNS)} FROM view_identity_attestations "
            f"WHERE identity_hash IN ({','.join('?' * len(identity_hashes))}) ORDER BY block_number DESC, uid",
            identity_hashes,
        )
        return [dict(zip(COLUMNS, row)) | {"revoked": bool(row[7])} for row in rows]

    def level_of(self, identity_hash: str | None, trusted: set[str], now: int) -> int:
        """The highest level a trusted, unrevoked, unexpired attestation gives this hash (0: none)."""
        if identity_hash is None:
            return 0
        return self.levels([identity_hash], trusted, now)[identity_hash]

    def levels(self, identity_hashes: list[str], trusted: set[str], now: int) -> dict[str, int]:
        """:meth:`level_of` for each of these hashes, in one query."""
        found = dict.fromkeys(identity_hashes, 0)
        for a in self.attestations(list(found)):
            if holds(a | {"attested": True}, trusted, now):
                found[a["identity_hash"]] = max(found[a["identity_hash"]], a["level"])
        return found
