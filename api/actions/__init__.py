"""The action tables, one module per capability: each row drives an unsigned-transaction
route, the transaction it builds and its ``orderchain wallet`` command."""
