"""Cross-process wake-ups: every listener hears each notify, a listener that is gone is
forgotten, and PostgreSQL's LISTEN/NOTIFY carries them between connections."""

from __future__ import annotations

import os
import threading
import time

import pytest

from engine.wakeup import PipeWakeup, PostgresWakeup, Wakeup, wakeup_for

POSTGRES = os.environ.get("ORDERCHAIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


class Heard:
    def __init__(self):
        self.count = 0
        self.event = threading.Event()

    def __call__(self):
        self.count += 1
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        found = self.event.wait(timeout)
        self.event.clear()
        return found


def test_every_listening_process_hears_a_notify_and_a_closed_one_is_forgotten(tmp_path):
    folder = tmp_path / "views.sqlite-wake"
    first, second = PipeWakeup(folder), PipeWakeup(folder)
    heard_first, heard_second = Heard(), Heard()
    assert first.listen(heard_first) and second.listen(heard_second)
    try:
        PipeWakeup(folder).notify()  # the projector's own instance
        assert heard_first.wait() and heard_second.wait()
        first.close()
        assert len(list(folder.glob("*.pipe"))) == 1
        PipeWakeup(folder).notify()
        assert heard_second.wait()
        assert heard_first.count == 1  # closed: heard nothing more
    finally:
        second.close()
    assert list(folder.glob("*.pipe")) == []


def test_a_pipe_whose_process_died_is_removed_by_the_next_notify(tmp_path):
    folder = tmp_path / "wake"
    folder.mkdir()
    os.mkfifo(folder / "4242-dead.pipe")  # what a killed listener leaves: nobody reads it
    PipeWakeup(folder).notify()
    assert not (folder / "4242-dead.pipe").exists()
    PipeWakeup(tmp_path / "nobody-yet").notify()  # no folder yet: nothing to do, no error


def test_notifies_while_a_listener_is_busy_come_as_one_wake_up_at_least(tmp_path):
    folder = tmp_path / "wake"
    listener = PipeWakeup(folder)
    gate = threading.Event()
    calls = []

    def slow():
        calls.append(time.monotonic())
        gate.wait(5)

    assert listener.listen(slow)
    try:
        notifier = PipeWakeup(folder)
        for _ in range(5000):  # more than a pipe holds: the writer never blocks
            notifier.notify()
        gate.set()
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert 1 <= len(calls) <= 5000
    finally:
        listener.close()


def test_the_wakeup_fits_the_views_database(tmp_path):
    assert isinstance(wakeup_for(str(tmp_path / "v.sqlite")), PipeWakeup)
    assert isinstance(wakeup_for("postgresql://u@h/db"), PostgresWakeup)
    assert type(wakeup_for(":memory:")) is Wakeup and Wakeup().listen(lambda: None) is False


def test_postgres_listen_notify_wakes_a_listener_on_another_connection():
    import psycopg

    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is part of the test setup and is not reachable: {exc}")
    listener, notifier = PostgresWakeup(POSTGRES), PostgresWakeup(POSTGRES)
    heard = Heard()
    try:
        assert listener.listen(heard)
        assert heard.wait()  # once on connecting: whatever was missed is looked at
        notifier.notify()
        assert heard.wait()
        notifier.notify()
        assert heard.wait()
    finally:
        listener.close()
        notifier.close()
