"""Money on a page: base units shown in the token's units with its symbol, never rounded."""

from __future__ import annotations

from decimal import Decimal


def in_units(amount: int | str, decimals: int, symbol: str) -> str:
    """``1234500`` of a 6-decimal tUSD is ``1.2345 tUSD``: every digit kept, trailing zeros dropped."""
    value = Decimal(int(amount)).scaleb(-decimals)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}" if whole.lstrip("-").isdigit() else whole
    return f"{grouped}{'.' + fraction if fraction else ''} {symbol}".strip()
