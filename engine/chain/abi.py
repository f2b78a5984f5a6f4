"""ABI-driven encoding and decoding built straight on eth-abi.

A contract's events become engine events through an :class:`EventDecoder` made from its
ABI; calls are encoded and custom-error reverts decoded the same way. Nothing here
knows any particular contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address


def type_string(param: dict) -> str:
    """The canonical type of an ABI parameter (tuples spelled out)."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(type_string(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def signature(item: dict) -> str:
    return f"{item['name']}({','.join(type_string(p) for p in item.get('inputs', []))})"


def _normalise(value: Any, kind: str) -> Any:
    """eth-abi output -> plain Python: addresses lower-case hex, bytes as 0x-hex."""
    if kind == "address":
        return value.lower()
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


@dataclass(frozen=True)
class EventSpec:
    """How to decode one event of an ABI: its topic, indexed and data arguments, and parsers."""

    name: str
    topic0: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) in topic order
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    one_word: bool = False  # every data type fits one 32-byte word
    topic_parsers: tuple = ()  # (name, parser) per indexed argument
    word_parsers: tuple = ()  # (name, parser, start) per data word, when one_word


def _one_word(kind: str) -> bool:
    if kind in ("address", "bool"):
        return True
    return bool(any(kind.startswith(prefix) and kind[len(prefix) :].isdigit() for prefix in ("uint", "int", "bytes")))


def _word_parser(kind: str) -> Callable[[str], Any]:
    """A parser of one static ABI word (64 hex digits) of ``kind``: the value eth-abi gives,
    ValueError where eth-abi would refuse the word."""
    if kind == "address":

        def address(word: str) -> str:
            if word[:24] != "000000000000000000000000":
                raise ValueError("address word has non-zero padding")
            return "0x" + word[24:].lower()

        return address
    if kind == "bool":

        def boolean(word: str) -> bool:
            value = int(word, 16)
            if value > 1:
                raise ValueError("bool word is not 0 or 1")
            return value == 1

        return boolean
    if kind.startswith("uint"):
        bits = int(kind[4:])

        def uint(word: str) -> int:
            value = int(word, 16)
            if value >> bits:
                raise ValueError(f"{kind} out of range")
            return value

        return uint
    if kind.startswith("int"):
        bits = int(kind[3:])
        low, high = -(1 << (bits - 1)), 1 << (bits - 1)

        def sint(word: str) -> int:
            value = int(word, 16)
            if value >= 1 << 255:
                value -= 1 << 256
            if not low <= value < high:
                raise ValueError(f"{kind} out of range")
            return value

        return sint
    size = 2 * int(kind[5:])  # bytesN: left-aligned
    if size == 64:
        return lambda word: "0x" + word.lower()

    def fixed_bytes(word: str) -> str:
        if word[size:].strip("0"):
            raise ValueError(f"{kind} word has non-zero padding")
        return "0x" + word[:size].lower()

    return fixed_bytes


def _topic_parser(kind: str) -> Callable[[str], Any]:
    if kind == "address":
        return lambda topic: "0x" + topic[-40:].lower()
    if kind.startswith("uint"):
        return lambda topic: int(topic, 16)
    if kind.startswith("int"):
        return lambda topic: (lambda v: v - (1 << 256) if v >= 1 << 255 else v)(int(topic, 16))
    return lambda topic: topic  # bytes32, bool and hashed dynamic values stay as the topic


class EventDecoder:
    """Decodes raw JSON-RPC logs of one contract into (event name, arguments)."""

    def __init__(self, abi: list[dict]):
        self.events: dict[str, EventSpec] = {}
        for item in abi:
            if item.get("type") != "event" or item.get("anonymous"):
                continue
            inputs = item.get("inputs", [])
            topic0 = "0x" + keccak(text=signature(item)).hex()
            self.events[topic0] = EventSpec(
                name=item["name"],
                topic0=topic0,
                indexed=tuple((p["name"], type_string(p)) for p in inputs if p.get("indexed")),
                data_names=tuple(p["name"] for p in inputs if not p.get("indexed")),
                data_types=tuple(type_string(p) for p in inputs if not p.get("indexed")),
                one_word=all(_one_word(type_string(p)) for p in inputs if not p.get("indexed")),
            )
            spec = self.events[topic0]
            words = (
                tuple(
                    (name, _word_parser(kind), 2 + 64 * i)
                    for i, (name, kind) in enumerate(zip(spec.data_names, spec.data_types))
                )
                if spec.one_word
                else ()
            )
            self.events[topic0] = replace(
                spec,
                word_parsers=words,
                topic_parsers=tuple((name, _topic_parser(kind)) for name, kind in spec.indexed),
            )

    def decode(self, log: dict) -> tuple[str, dict] | None:
        """(event name, {argument: value}) or None for a log this ABI does not describe."""
        topics = log["topics"]
        spec = self.events.get(topics[0]) if topics else None
        if spec is None:
            return None
        args: dict[str, Any] = {name: parse(topic) for (name, parse), topic in zip(spec.topic_parsers, topics[1:])}
        data = log["data"]
        if spec.one_word and len(data) == 2 + 64 * len(spec.data_types):
            # Fast path for static one-word types: slice the hex, no bytes round trip.
            try:
                for name, parse, start in spec.word_parsers:
                    args[name] = parse(data[start : start + 64])
                return spec.name, args
            except ValueError:
                pass  # let eth-abi decide (and raise) on malformed data
        if spec.data_types:
            values = abi_decode(spec.data_types, bytes.fromhex(data[2:]))
            for name, kind, value in zip(spec.data_names, spec.data_types, values):
                args[name] = _normalise(value, kind)
        return spec.name, args


PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x32: "array index out of bounds",
    0x41: "out of memory",
}


@dataclass(frozen=True)
class DecodedRevert:
    """A revert as a person reads it: the custom error's name, arguments and a message."""

    name: str
    args: dict
    message: str

    def as_dict(self) -> dict:
        return {"error": self.name, "args": {k: _jsonable(v) for k, v in self.args.items()}, "message": self.message}


def _jsonable(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class ErrorDecoder:
    """Turns revert data into the custom error's name and arguments."""

    def __init__(self, *abis: list[dict]):
        self.errors: dict[str, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") == "error":
                    selector = "0x" + keccak(text=signature(item))[:4].hex()
                    self.errors[selector] = (
                        item["name"],
                        [p["name"] for p in item.get("inputs", [])],
                        [type_string(p) for p in item.get("inputs", [])],
                    )

    def decode(self, data: str | bytes | None) -> DecodedRevert:
        if isinstance(data, (bytes, bytearray)):
            data = "0x" + bytes(data).hex()
        if not data or data == "0x":
            return DecodedRevert("Reverted", {}, "reverted without a reason")
        selector, body = data[:10].lower(), bytes.fromhex(data[10:])
        if selector == "0x08c379a0":
            (reason,) = abi_decode(["string"], body)
            return DecodedRevert("Error", {"reason": reason}, reason)
        if selector == "0x4e487b71":
            (code,) = abi_decode(["uint256"], body)
            return DecodedRevert("Panic", {"code": code}, PANIC_REASONS.get(code, f"panic {code:#x}"))
        known = self.errors.get(selector)
        if known is None:
            return DecodedRevert("UnknownError", {"data": data}, f"unknown error {selector}")
        name, names, types = known
        values = [_normalise(v, t) for v, t in zip(abi_decode(types, body), types)]
        args = dict(zip(names, values))
        shown = ", ".join(f"{k}={_display(v, t)}" for (k, v), t in zip(args.items(), types))
        return DecodedRevert(name, args, f"{name}({shown})")


def _display(value: Any, kind: str) -> str:
    if kind == "address":
        return to_checksum_address(value)
    return str(value)


class FunctionEncoder:
    """Encodes calls to a contract's functions by name."""

    def __init__(self, abi: list[dict]):
        self.functions: dict[str, tuple[bytes, list[str], list[dict]]] = {}
        for item in abi:
            if item.get("type") == "function":
                self.functions[item["name"]] = (
                    keccak(text=signature(item))[:4],
                    [type_string(p) for p in item.get("inputs", [])],
                    item.get("outputs", []),
                )

    def encode(self, name: str, *args: Any) -> str:
        selector, types, _ = self.functions[name]
        return "0x" + (selector + abi_encode(types, list(args))).hex()

    def decode_output(self, name: str, data: str) -> tuple:
        _, _, outputs = self.functions[name]
        types = [type_string(p) for p in outputs]
        return tuple(_normalise(v, t) for v, t in zip(abi_decode(types, bytes.fromhex(data[2:])), types))
