"""Paying after verified delivery (seed 003, part 2): goods checked and divided by store,
couriers chosen by distance and price, waybills and categories checked against the order, and
the alarms that stop a payment. The rules are plain functions, one module per concern."""
