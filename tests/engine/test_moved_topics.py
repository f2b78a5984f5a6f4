"""An event store written before the modules moved still loads: the old topics resolve."""

from eventsourcing.utils import resolve_topic

import engine.application  # noqa: F401  (registers the old topics)
from engine.chain.cursor import ChainCursor
from engine.group_buy.campaign import Campaign
from engine.group_buy.catalogue import Catalogue
from engine.moved_topics import MOVED
from engine.settlement.escrow import Settlement
from engine.settlement.store_order import StoreOrder


def test_old_topics_resolve_to_the_moved_classes_and_their_events():
    assert resolve_topic("engine.settlement:Settlement") is Settlement
    assert resolve_topic("engine.settlement:Settlement.LogRecorded") is Settlement.LogRecorded
    assert resolve_topic("engine.settlement:Settlement.Discovered") is Settlement.Discovered
    assert resolve_topic("engine.store_order:StoreOrder") is StoreOrder
    assert resolve_topic("engine.cursor:ChainCursor") is ChainCursor
    assert resolve_topic("engine.group_buy:Campaign.Retracted") is Campaign.Retracted
    assert resolve_topic("engine.group_buy:Catalogue") is Catalogue


def test_new_topics_still_resolve_and_no_old_module_is_importable():
    assert resolve_topic("engine.settlement.escrow:Settlement.LogRecorded") is Settlement.LogRecorded
    assert resolve_topic("engine.group_buy.catalogue:Catalogue") is Catalogue
    import importlib.util

    for old in MOVED:
        assert importlib.util.find_spec(old) is None or old in (
            "engine.settlement",
            "engine.group_buy",
            "engine.evidence",
            "engine.cross_border",
        )


def test_a_store_written_under_the_old_topics_loads(tmp_path):
    """A store registered, its stored events' topics put back to the old module names (as a
    store written before the move has them), loads again as the moved classes."""
    import sqlite3

    from engine.application import OrderEngine
    from engine.config import Settings
    from engine.settlement.stores import Store

    settings = Settings(db=str(tmp_path / "events.sqlite"), var_dir=str(tmp_path))
    app = OrderEngine(settings)
    app.register_store("corner-shop", "Corner shop", "0x" + "11" * 20)
    app.close()
    con = sqlite3.connect(settings.db)
    changed = con.execute(
        "UPDATE stored_events SET topic = replace(topic, 'engine.settlement.stores:', 'engine.stores:')"
    ).rowcount
    con.commit()
    assert changed >= 2  # the store and its address claim
    assert con.execute("SELECT count(*) FROM stored_events WHERE topic LIKE 'engine.stores:%'").fetchone()[0] == changed
    con.close()
    store = OrderEngine(settings).get_store("corner-shop")
    assert isinstance(store, Store) and store.name == "Corner shop"
