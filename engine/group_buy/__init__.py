"""Customised group buying, one module per concern: quality function deployment and the
scheme list (:mod:`.schemes`), the minimum order quantity and the buyer's class
(:mod:`.moq`), the retail order book and the wholesale quote (:mod:`.order_book`), the
store's catalogue (:mod:`.catalogue`) and the campaigns on chain (:mod:`.campaign`).

Money is integers of base units; a price with a term discount is rounded once,
ROUND_HALF_EVEN, to an integer.
"""
