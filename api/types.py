"""Reusable field types that carry their own checks, for request and response models.

Amounts are Python integers in the handlers and decimal strings on the wire (base units,
never floats); addresses must carry a valid EIP-55 checksum when written in mixed case.
"""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints, WithJsonSchema

from engine.settlement.escrow import MAX_AMOUNT
from engine.settlement.store_order import ORDER_NUMBER_PATTERN

UINT256_MAX = 2**256 - 1
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH32_PATTERN = r"^0x[0-9a-fA-F]{64}$"
DECIMAL_PATTERN = r"^(0|[1-9][0-9]*)$"
QUANTITY_PATTERN = r"^0x(0|[1-9a-f][0-9a-f]*)$"


def _checksummed(value: str) -> str:
    """Mixed-case addresses must carry a valid EIP-55 checksum (a typo is caught, not paid)."""
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and to_checksum_address(value) != value:
        raise ValueError("address has an invalid EIP-55 checksum")
    return value


def _decimal(low: int, high: int):
    def parse(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, str):
            raise ValueError('must be a decimal string of base units, like "25000000"')
        if (
            not value.isascii()
            or not value.isdigit()
            or (len(value) > 1 and value[0] == "0")
            or len(value) > len(str(high))
        ):
            raise ValueError("must be a decimal string of base units without sign, point, exponent or leading zeros")
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _integer(low: int, high: int):
    """For responses: the engine's integers (or decimal strings), shown as decimal strings."""
    strict = _decimal(low, high)

    def parse(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        return strict(value)

    return parse


def _integer_string(low: int, high: int, description: str, output: bool = False):
    schema = {
        "type": "string",
        "pattern": DECIMAL_PATTERN,
        "maxLength": len(str(high)),
        "description": f"{description} ({low}..{high}, a decimal string)",
    }
    parse = _integer(low, high) if output else _decimal(low, high)
    return Annotated[int, BeforeValidator(parse), PlainSerializer(str, return_type=str), WithJsonSchema(schema)]


Address = Annotated[
    str,
    StringConstraints(pattern=ADDRESS_PATTERN),
    AfterValidator(_checksummed),
    Field(examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]),
]
Hash32 = Annotated[str, StringConstraints(pattern=HASH32_PATTERN)]
OrderNumber = Annotated[str, StringConstraints(pattern=ORDER_NUMBER_PATTERN), Field(examples=["A-1001"])]
StoreId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$"), Field(examples=["corner-shop"])]
# Token base units as the settlement contract holds them (uint96).
Amount = _integer_string(0, MAX_AMOUNT, "token base units")
PositiveAmount = _integer_string(1, MAX_AMOUNT, "token base units")
Uint256 = _integer_string(0, UINT256_MAX, "an unsigned 256-bit integer")
# The same in responses, where the engine's integers are turned into decimal strings.
AmountOut = _integer_string(0, MAX_AMOUNT, "token base units", output=True)
Uint256Out = _integer_string(0, UINT256_MAX, "an unsigned 256-bit integer", output=True)
# A JSON-RPC quantity: what every number of an unsigned transaction is.
Quantity = Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN)]
