"""Money on a page is the token's units with its symbol, every digit kept: nothing is rounded."""

from api.web.money import in_units


def test_base_units_are_shown_in_the_tokens_units_with_every_digit():
    assert in_units(12_500_000, 6, "tUSD") == "12.5 tUSD"
    assert in_units("1234567891", 6, "tUSD") == "1,234.567891 tUSD"
    assert in_units(1, 18, "WETH") == "0.000000000000000001 WETH"
    assert in_units(0, 6, "tUSD") == "0 tUSD"
    assert in_units(10**30, 0, "X") == f"{10**30:,} X"
