"""Holder-side code: asks the API for what to sign, signs it locally, relays the signed bytes.

Nothing here imports the server: a wallet needs only HTTP and eth-account.
"""

from api.client.holder import ApiError, Holder, answer, sign_transaction, sign_typed_data, signature_of
from api.client.settlement import agreement, settlement_key

__all__ = [
    "ApiError",
    "Holder",
    "agreement",
    "answer",
    "settlement_key",
    "sign_transaction",
    "sign_typed_data",
    "signature_of",
]
