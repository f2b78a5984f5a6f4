"""The log decoder's fast path gives exactly what eth-abi gives, and refuses what it refuses."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.chain.abi import EventDecoder

ABI = [
    {
        "type": "event",
        "name": "E",
        "anonymous": False,
        "inputs": [
            {"name": "id", "type": "bytes32", "indexed": True},
            {"name": "who", "type": "address", "indexed": False},
            {"name": "amount", "type": "uint96", "indexed": False},
            {"name": "delta", "type": "int64", "indexed": False},
            {"name": "flag", "type": "bool", "indexed": False},
            {"name": "tag", "type": "bytes4", "indexed": False},
            {"name": "hash", "type": "bytes32", "indexed": False},
        ],
    }
]
TYPES = ["address", "uint96", "int64", "bool", "bytes4", "bytes32"]


def _log(decoder: EventDecoder, data: bytes) -> dict:
    topic0 = next(iter(decoder.events))
    return {"topics": [topic0, "0x" + "00" * 31 + "01"], "data": "0x" + data.hex()}


def _slow(decoder: EventDecoder) -> EventDecoder:
    slow = EventDecoder(ABI)
    slow.events = {t: replace(spec, one_word=False) for t, spec in decoder.events.items()}
    return slow


values = st.tuples(
    st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
    st.integers(0, 2**96 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.binary(min_size=4, max_size=4),
    st.binary(min_size=32, max_size=32),
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_fast_path_equals_eth_abi(vals):
    fast = EventDecoder(ABI)
    assert next(iter(fast.events.values())).one_word
    lg = _log(fast, encode(TYPES, list(vals)))
    assert fast.decode(lg) == _slow(fast).decode(lg)


@pytest.mark.parametrize(
    "word_index, word",
    [
        (0, "ff" * 12 + "11" * 20),  # address with dirty padding
        (1, "00" * 19 + "01" + "00" * 12),  # uint96 overflowing 96 bits
        (3, "00" * 31 + "02"),  # bool that is neither 0 nor 1
        (4, "aabbccdd" + "00" * 27 + "01"),  # bytes4 with dirty padding
    ],
)
def test_malformed_words_are_refused_like_eth_abi(word_index, word):
    fast = EventDecoder(ABI)
    words = [
        w.hex()
        for w in (
            encode([t], [v]) for t, v in zip(TYPES, ["0x" + "11" * 20, 5, -3, True, b"\x01\x02\x03\x04", b"\x09" * 32])
        )
    ]
    words[word_index] = word
    lg = {"topics": [next(iter(fast.events)), "0x" + "00" * 32], "data": "0x" + "".join(words)}
    with pytest.raises(Exception) as fast_error:
        fast.decode(lg)
    with pytest.raises(Exception) as slow_error:
        _slow(fast).decode(lg)
    assert type(fast_error.value) is type(slow_error.value)  # the fast path hands over to eth-abi


def test_the_fast_mapper_stores_what_the_standard_one_decodes_to_the_same_event():
    """Settlement events go through orjson both ways; big integers fall back; every way of
    decoding gives the same event."""
    from eventsourcing.application import Application
    from eventsourcing.persistence import JSONTranscoder, Mapper

    from engine.application import ChainEventMapper
    from engine.settlement.escrow import Settlement

    transcoder = Application().construct_transcoder()
    assert isinstance(transcoder, JSONTranscoder)
    fast, standard = ChainEventMapper(transcoder), Mapper(transcoder)
    # 2**63 and 2**96 - 1 are beyond orjson's 64-bit integers (it would read them as floats).
    for amount in (5_000_000, 2**63 - 1, 2**63, 2**64 + 1, 2**96 - 1, -(2**63) - 1):
        coords = {
            "chain_id": 31337,
            "block_number": 7,
            "block_hash": "0x" + "aa" * 32,
            "tx_hash": "0x" + "bb" * 32,
            "log_index": 3,
            "block_timestamp": 1_700_000_000,
        }
        s = Settlement(
            chain_id=31337,
            contract="0x" + "11" * 20,
            key="0x" + "22" * 32,
            first_log={
                "event": "SettlementOpened",
                "args": {"amount": amount, "store": "0x" + "33" * 20},
                "coords": coords,
            },
        )
        s.record(
            "SettlementCompleted", {"toStore": amount, "toPayer": 0, "paymentRecord": 1}, dict(coords, log_index=4)
        )
        for event in s.collect_events():
            stored = fast.to_stored_event(event)
            assert stored.topic == standard.to_stored_event(event).topic
            again = standard.to_domain_event(stored)
            assert type(again) is type(event) and vars(again) == vars(event)
            as_text = replace(stored, originator_id=str(stored.originator_id))  # as SQLite gives it back
            for back in (fast.to_domain_event(stored), fast.to_domain_event(as_text)):
                assert type(back) is type(event) and vars(back) == vars(event), amount
                assert str(back.originator_id) == str(event.originator_id)
                # Exactly: an integer read back as a float would still compare equal.
                assert json.dumps(vars(back), sort_keys=True, default=str) == json.dumps(
                    vars(event), sort_keys=True, default=str
                )
