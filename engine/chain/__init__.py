"""The chain plumbing: JSON-RPC, new heads, log decoding, the deployment manifest, the reader
that turns logs into chain aggregates' events, and the builder of unsigned transactions.

Nothing here knows a business domain: each contract module declares itself to the reader
with a :class:`~engine.chain.source.ChainSource`, and the reader gets that list from whoever
runs it.
"""
