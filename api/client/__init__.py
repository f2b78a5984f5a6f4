"""Holder-side code: asks the API for what to sign, signs it locally, relays the signed bytes.

Nothing here imports the server: a wallet needs only HTTP and eth-account.
"""

from .holder import ApiError, Holder, answer, settlement_key, sign_transaction, sign_typed_data

__all__ = ["ApiError", "Holder", "answer", "settlement_key", "sign_transaction", "sign_typed_data"]
