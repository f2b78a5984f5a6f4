"""Cross-border orders: the notary escrow's orders, legs, final bills and rates
(:mod:`.orders`), and the freight estimate from comparable completed orders (:mod:`.freight`)."""
