"""What every test shares: Hypothesis draws that do not depend on which modules are loaded.

Hypothesis mixes into its draws constants it finds in every local module imported so far.
Which modules those are depends on what else the run collected (the OpenAPI fuzz test pulls
in the whole API, a story test the engine), so a derandomized stateful test drew other
sequences alone than in the whole suite, and its checks that each path was walked held in
one and not the other. An empty pool of local constants makes every derandomized test draw
the same sequences however it is run; the library's own constants (edge values such as 0,
-1, 2**63) stay in the mix.
"""

try:
    from hypothesis.internal.conjecture import providers as _providers
except ImportError:  # pragma: no cover - a Hypothesis without the constants pool
    _providers = None

if _providers is not None and hasattr(_providers, "_get_local_constants"):
    _NO_LOCAL_CONSTANTS = _providers.Constants()
    _providers._get_local_constants = lambda: _NO_LOCAL_CONSTANTS
    _providers.CONSTANTS_CACHE.cache.clear()


pytest_plugins = ["tests.gateway"]  # the SMS gateway server, for every test
