"""Composes one serving process: the engine (reader and keeper), the projector and what
the HTTP layer reads (views, transaction builder, status).

With ``views`` off, the process only reads the chain (a projector process keeps the
views); with ``engine`` off, it only serves (the scale-out shape's API workers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from engine import metrics
from engine.account_desk import AccountDesk, sender
from engine.accounts.identity import CONTRACT as IDENTITY
from engine.accounts.profile import ProfileIncomplete, require
from engine.anchorer import Anchorer
from engine.application import OrderEngine
from engine.chain.manifest import Manifest
from engine.chain.reader import ChainReader
from engine.chain.rpc import Rpc
from engine.chain.source import ChainSource
from engine.chain.transactions import Transactions
from engine.config import Settings
from engine.cross_border.orders import CONTRACT as ESCROW
from engine.cross_border.orders import top_up_notice
from engine.db import Database
from engine.delivery.mandate import CONTRACT as OFFLINE_PAYMENT
from engine.group_buy.campaign import CONTRACT as GROUP_BUY
from engine.group_buy.catalogue import Catalogue, scheme_hash
from engine.group_buy.order_book import Market
from engine.instructions import Dispatcher
from engine.payment_keeper import PaymentKeeper
from engine.registry import SOURCES
from engine.runner import Chore, EngineRunner
from engine.signin import SignIn
from engine.wakeup import wakeup_for
from projections.accounts import AccountsView
from projections.alarms import AlarmsView
from projections.chain_status import ChainStatusView
from projections.credits import CreditsView
from projections.cross_border import CrossBorderView
from projections.evidence import EvidenceView
from projections.freight import FreightView
from projections.group_buy import GroupBuyView
from projections.identity import IdentityView
from projections.instructions import InstructionsView
from projections.liquor import LiquorView
from projections.payments import PaymentsView
from projections.rates import RatesView
from projections.reputation import ReputationView
from projections.runner import Projector
from projections.store_orders import StoreOrdersView

log = logging.getLogger("orderchain.service")
WOKEN_LOOKS = 10  # poll intervals between the looks of a waiter that wake-ups reach (engine/wakeup.py)
READY_LAG = 1  # blocks the index may trail the confirmed head and still be ready
DEV_CHAIN_ID = 31337  # anvil's: its well-known accounts may serve the demo
ALARM_NOTICES = 500  # the alarms changed last whose webhook notices each round makes (if not made yet)
DEV_WITNESS_INDEX = 8  # the dev account the deploy script names as the evidence witness there


class Service:
    """One process's engine, views and chain access (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        rpc_url: str,
        views: bool = True,
        engine: bool = True,
        sources: Iterable[ChainSource] = SOURCES,
        listen: bool = True,
    ):
        self.settings = settings
        self.rpc_url = rpc_url
        self.views = views
        self.rpc = Rpc(rpc_url)
        self.chain_id = self.rpc.chain_id()
        self.manifest = Manifest.load(settings.deployments_dir, self.chain_id)
        self.app = OrderEngine(settings, self.manifest)
        self.db = Database(settings.view_db)
        self.wakeup = wakeup_for(settings.view_db)
        self.projector = Projector(self.app, self.db, wakeup=self.wakeup)
        self.view = self.projector.view(StoreOrdersView)
        self.chain_view = self.projector.view(ChainStatusView)
        self.liquor = self.projector.view(LiquorView)
        self.group_buy = self.projector.view(GroupBuyView)
        self.credits = self.projector.view(CreditsView)
        self.evidence = self.projector.view(EvidenceView)
        self.instructions = self.projector.view(InstructionsView)
        self.freight = self.projector.view(FreightView)
        self.cross_border = self.projector.view(CrossBorderView)
        self.rates = self.projector.view(RatesView)
        self.identity = self.projector.view(IdentityView)
        self.reputation = self.projector.view(ReputationView)
        self.alarms = self.projector.view(AlarmsView)
        self.payments = self.projector.view(PaymentsView)
        self.accounts_view = self.projector.view(AccountsView)
        self.transactions = Transactions(self.rpc, self.manifest)
        self._catalogues: dict[str, tuple] = {}
        self.sign_in = SignIn(self.db, settings.domain, self.chain_id, settings.session_seconds)
        self.accounts = AccountDesk(self.app, self.db, settings)
        self.witness = self._witness()
        self.anchorer = (
            Anchorer(
                self.app, self.rpc, self.transactions, self.witness.key.hex(), self.evidence.unbatched, self._unanchored
            )
            if self.witness and views and "EvidenceAnchor" in self.manifest.contracts
            else None
        )
        chores = [Chore("anchorer", settings.anchor_interval, self.anchorer.run_once)] if self.anchorer else []
        self.payment_keeper = (
            PaymentKeeper(
                self.app,
                self.rpc,
                self.transactions,
                self.witness.key.hex(),
                self.payments,
                sender(settings, retries=0),
            )
            if self.witness and views and OFFLINE_PAYMENT in self.manifest.contracts
            else None
        )
        if self.payment_keeper:
            chores.append(Chore("payments", settings.poll_interval * 5, self.payment_keeper.run_once))
        self.dispatcher = None
        group_buy = GROUP_BUY in self.manifest.contracts
        if views and (group_buy or ESCROW in self.manifest.contracts or OFFLINE_PAYMENT in self.manifest.contracts):
            self.dispatcher = Dispatcher(
                self.app,
                self.chain_id,
                self._uninstructed if group_buy else list,
                self.instructions.pending,
                self.scheme_name,
                self.manifest.contract(GROUP_BUY).address if group_buy else "",
                notices=self._store_notices,
            )
            chores.append(Chore("webhooks", settings.poll_interval * 5, self.dispatcher.run_once))
        self.chores = chores
        self.engine = (
            EngineRunner(
                self.app,
                settings,
                rpc_url,
                sources,
                transactions=self.transactions,
                open_settlements=self.view.open_settlements if views else None,
                chores=chores,
            )
            if engine
            else None
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._deltas = metrics.Deltas()
        self._waiters: set[tuple] = set()  # (event loop, asyncio.Event) of streams waiting for a change
        self._waiters_lock = threading.Lock()
        # A process that serves views another process projects is woken by it (engine/wakeup.py),
        # whether or not it also projects its own writes.
        self.woken = listen and not engine and self.wakeup.listen(self._changed)

    def keeping(self) -> EngineRunner:
        """The keeper (with ``ORDERCHAIN_KEEPER_KEY``) and the chores that act on the views
        (webhooks, anchoring evidence, checking deliveries), without a reader: what the
        projector process of the scale-out shape runs beside its rounds (``keep_until``)."""
        if not self.views:
            raise RuntimeError("the keeper and the chores read the views: this process keeps none")
        return EngineRunner(
            self.app,
            self.settings,
            self.rpc_url,
            transactions=self.transactions,
            open_settlements=self.view.open_settlements,
            chores=self.chores,
        )

    def identity_level(self, account, now: int | None = None) -> int:
        """The level of the account's identity attestation that holds on chain now: by a trusted
        attester, of the account's current record, not revoked, not expired (0: none)."""
        if IDENTITY not in self.manifest.contracts or account.identity_hash is None:
            return 0
        now = self.rpc.chain_time() if now is None else now
        return self.identity.level_of(account.identity_hash, self._trusted_attesters(), now)

    def _trusted_attesters(self) -> set[str]:
        if IDENTITY not in self.manifest.contracts:
            return set()
        return set(self.manifest.contract(IDENTITY).meta.get("attesters", []))

    def identities(self, state: str, before: int | None = None, limit: int = 100) -> tuple[list[dict], int | None]:
        """Accounts for the operator's review, the latest changed first, each with the level that
        holds now for its current record: ``to_review`` (complete, not closed, no attestation holds),
        ``attested`` (one holds), ``incomplete`` (the profile lacks something, or closed) or ``all``.
        Also the position to page on from (None: no more)."""
        trusted, now = self._trusted_attesters(), self.rpc.chain_time()
        ready = {"to_review": True, "attested": None, "incomplete": False, "all": None}[state]
        found: list[dict] = []
        while len(found) < limit:
            rows = self.accounts_view.accounts(ready=ready, before=before, limit=max(limit, 200))
            levels = self.identity.levels([r["identity_hash"] for r in rows if r["identity_hash"]], trusted, now)
            for row in rows:
                row["level"] = levels.get(row["identity_hash"], 0)
                if (state == "to_review" and row["level"]) or (state == "attested" and not row["level"]):
                    continue
                found.append(row)
                if len(found) == limit:
                    return found, row["seq"]
            if len(rows) < max(limit, 200):
                return found, None
            before = rows[-1]["seq"]
        return found, None

    def attested(self, account) -> bool:
        return self.identity_level(account) > 0

    def require_profile(self, wallet: str, action: str) -> None:
        """:class:`ProfileIncomplete` unless the wallet is bound to an account whose profile is
        complete (and verified, and attested where the action says) for ``action``."""
        account = self.app.account_of_wallet(wallet)
        if account is None:
            raise ProfileIncomplete(action, ["account"])
        require(account.profile(attested=self.attested(account)), action)

    def _witness(self):
        """The evidence witness's account: ``ORDERCHAIN_WITNESS_KEY``, or on the local dev chain
        the dev account the deploy script names as witness (and as OfflinePayment's verifier,
        whose keeper signs with it). None: evidence is not sealed, shipments not verified."""
        from eth_account import Account

        if self.settings.witness_key:
            return Account.from_key(self.settings.witness_key)
        if self.chain_id == DEV_CHAIN_ID and (
            "EvidenceAnchor" in self.manifest.contracts or OFFLINE_PAYMENT in self.manifest.contracts
        ):
            from engine.chain.node import DEV_MNEMONIC

            Account.enable_unaudited_hdwallet_features()
            account = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{DEV_WITNESS_INDEX}")
            log.info("evidence witness: dev account %d (%s) of the local chain", DEV_WITNESS_INDEX, account.address)
            return account
        return None

    def catalogue(self, store_id: str):
        """A store's catalogue for reading, its scheme list made once per catalogue version
        (the version is one indexed lookup; a change made by any process is seen at once)."""
        catalogue_id = Catalogue.create_id(store_id)
        last = self.app.recorder.select_events(catalogue_id, desc=True, limit=1)
        version = last[0].originator_version if last else 0
        cached = self._catalogues.get(store_id)
        if cached is None or cached[0] != version:
            catalogue = self.app.catalogue(store_id)
            kept = catalogue.schemes()[0]
            cached = self._catalogues[store_id] = (
                version,
                catalogue,
                {scheme_hash(s.id): s.id for s in kept},
                Market(kept),
            )
        return cached[1]

    def market(self, store_id: str) -> tuple[Market, dict[str, str]]:
        """The store's scheme list indexed for quotes, and scheme names by their on-chain hash."""
        self.catalogue(store_id)
        cached = self._catalogues[store_id]
        return cached[3], cached[2]

    def scheme_name(self, campaign: dict) -> str:
        """A campaign's scheme by its name in the enterprise's catalogue (its hash if none names it)."""
        store = self.app.store_of_address(campaign["enterprise"])
        if store is not None:
            self.catalogue(store.store_id)
            return self._catalogues[store.store_id][2].get(campaign["scheme_hash"], campaign["scheme_hash"])
        return campaign["scheme_hash"]

    def _uninstructed(self) -> list[dict]:
        """Succeeded campaigns without a production instruction yet, of enterprises that are
        stores with a webhook: the webhooks' chore asks every few tenths of a second, so only
        those campaigns are read whole (an enterprise that is no such store may have many)."""
        done = self.instructions.campaigns()
        waiting = {enterprise for campaign_id, enterprise in self.group_buy.succeeded_by() if campaign_id not in done}
        hooked = [a for a in sorted(waiting) if getattr(self.app.store_of_address(a), "webhook_url", None)]
        return [c for c in self.group_buy.succeeded(self.rpc.chain_time(), hooked) if c["campaign_id"] not in done]

    def _store_notices(self) -> list[tuple[str, str, dict]]:
        """The notices to stores' webhooks not made yet: each final bill asking a seller's buyer
        for a top-up, and each change of an alarm on a store's shipment (raised, acknowledged,
        resolved)."""
        done, notices = self.instructions.notice_subjects(), []
        if ESCROW in self.manifest.contracts:
            escrow = self.manifest.contract(ESCROW).address
            notices += [
                top_up_notice(order, self.chain_id, escrow)
                for order in self.cross_border.orders(status="top_up_requested")
            ]
        for alarm in self.alarms.alarms(limit=ALARM_NOTICES):
            subject = f"alarm {alarm['alarm_id']} {alarm['state']}"
            if subject not in done:  # the store is read only for a notice still to make
                body = {"notice": "alarm", **{k: v for k, v in alarm.items() if k != "raised_at"}}
                notices.append((subject, self.app.get_store(alarm["store_id"]).address, body))
        return [(subject, seller, body) for subject, seller, body in notices if subject not in done]

    def _unanchored(self) -> list[str]:
        return [root for root in self.evidence.roots() if self.group_buy.batch_of_root(root) is None]

    @property
    def reader(self) -> ChainReader:
        if self.engine is None:
            raise RuntimeError("this process serves only; its engine is off")
        return self.engine.reader

    @property
    def halted(self) -> str | None:
        """Why the engine stopped following the node (another chain), if it did."""
        return self.engine.halted if self.engine else None

    def project(self, recorded: list | None = None) -> None:
        """Brings the views up to date (with the events a reader step has just saved)."""
        if self.views:
            self.projector.catch_up(recorded=recorded)
            if self.dispatcher is not None:
                self._deltas.add("webhooks", self.dispatcher.sent, metrics.WEBHOOKS)
        self._changed()

    def _changed(self) -> None:
        """Wakes every stream and long poll of this process waiting for a change of the views."""
        with self._waiters_lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # its loop has closed
                self.unwatch((loop, event))

    def measure(self) -> None:
        """Sets the metrics read when they are asked for: the engine's, the views' positions,
        blocks and failures."""
        if self.engine is not None:
            self.engine.measure()
        for name, view in self.views_status().items():
            metrics.VIEW_POSITION.labels(name).set(view["position"])
            metrics.VIEW_BLOCK.labels(name).set(-1 if view["block"] is None else view["block"])
            metrics.VIEW_FAILED.labels(name).set(1 if view["error"] else 0)

    def views_status(self) -> dict[str, dict]:
        """Each view's position in the event log, the block it shows, and why its last
        catch-up failed (None: it did not), as recorded by whichever process projects."""
        positions = self.projector.positions()
        blocks = self.chain_view.block_at(self.chain_id, positions)
        failures = self.projector.failures()
        return {
            name: {"position": positions[name], "block": blocks[name], "error": failures.get(name)}
            for name in positions
        }

    def look_every(self, unwoken: float) -> float:
        """Seconds between looks at the views by a stream or long poll waiting in this process:
        ``unwoken`` when nothing can wake it, else ten poll intervals (at least a second), a look
        now and then beside the wake-ups (this process projects, or the projecting one wakes it)."""
        if self.engine is None and not self.woken:
            return unwoken
        return max(1.0, WOKEN_LOOKS * self.settings.poll_interval)

    def watch(self, loop) -> tuple:
        """An asyncio event of ``loop`` set whenever the views change: in this process, or in
        the process that projects (when :attr:`woken`)."""
        import asyncio

        waiter = (loop, asyncio.Event())
        with self._waiters_lock:
            self._waiters.add(waiter)
        return waiter

    def unwatch(self, waiter: tuple) -> None:
        with self._waiters_lock:
            self._waiters.discard(waiter)

    def step(self) -> None:
        """Reads the chain to the confirmed head, bringing the views up to date after each
        bounded step of the reader."""
        self.project(self.engine.step() if self.engine else None)
        while self.engine is not None and self.engine.behind:
            self.project(self.engine.step())

    def start(self) -> None:
        if self.engine is None:
            return
        self.project(self.engine.step())  # one bounded step; the engine thread goes on from there
        self._thread = threading.Thread(
            target=self.engine.run, args=(self._stop, self.project), name="orderchain-engine", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wakeup.close()
        if self.engine is not None:
            self.engine.interrupt()
        if self._thread:
            self._thread.join(10)
        self.db.checkpoint(force=True)

    def status(self) -> dict:
        try:
            head = self.rpc.block_number()
            chain_time = self.rpc.chain_time()
            node_ok = True
        except Exception:
            head, chain_time, node_ok = None, None, False
        chain = self.chain_view.chain(self.chain_id) or {}
        indexed = chain.get("block")
        target = None if head is None else head - self.settings.confirmations
        lag = None if target is None or indexed is None else target - indexed
        last_error = self.engine.last_error if self.engine else None
        views = self.views_status()
        blocks = [v["block"] for v in views.values()]
        views_block = None if any(b is None for b in blocks) else min(blocks)
        failed = any(v["error"] for v in views.values())
        views_lag = None if target is None or views_block is None else target - views_block
        return {
            "chain_id": self.chain_id,
            "node_head": head,
            "chain_time": chain_time,
            "indexed_block": indexed,
            "indexed_block_hash": chain.get("block_hash"),
            "confirmations": self.settings.confirmations,
            "lag": lag,
            "ready": bool(
                node_ok
                and lag is not None
                and 0 <= lag <= READY_LAG
                and last_error is None
                and self.halted is None
                and not failed
                and views_lag is not None
                and views_lag <= READY_LAG
            ),
            "view_position": min(v["position"] for v in views.values()),
            "views_block": views_block,
            "views": views,
            "last_error": last_error,
            "halted": self.halted,
            "backfill": self.engine.progress.current if self.engine else None,
            "new_heads": None
            if self.engine is None or self.engine.heads is None
            else {
                "url": self.engine.ws_url,
                "subscribed": self.engine.heads.subscribed,
                "notifications": self.engine.heads.notifications,
                "last_error": self.engine.heads.last_error,
            },
            "contracts": {name: c.address for name, c in self.manifest.contracts.items()},
        }
