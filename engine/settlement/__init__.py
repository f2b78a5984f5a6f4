"""Escrowed C2C settlement of store orders: the on-chain settlement (:mod:`.escrow`), the
store order and its rules (:mod:`.store_order`), the stores (:mod:`.stores`) and the keeper
that ends a settlement whose window passed (:mod:`.keeper`)."""
