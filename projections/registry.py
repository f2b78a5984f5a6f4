"""The views the projector keeps: a new view is a new file plus one line here."""

from __future__ import annotations

from .accounts import AccountsView
from .alarms import AlarmsView
from .chain_status import ChainStatusView
from .credits import CreditsView
from .cross_border import CrossBorderView
from .evidence import EvidenceView
from .freight import FreightView
from .group_buy import GroupBuyView
from .identity import IdentityView
from .instructions import InstructionsView
from .liquor import LiquorView
from .payments import PaymentsView
from .rates import RatesView
from .reputation import ReputationView
from .store_orders import StoreOrdersView
from .view import View

VIEWS: tuple[type[View], ...] = (
    ChainStatusView,
    StoreOrdersView,
    LiquorView,
    GroupBuyView,
    EvidenceView,
    InstructionsView,
    FreightView,
    CrossBorderView,
    RatesView,
    CreditsView,
    IdentityView,
    ReputationView,
    AlarmsView,
    PaymentsView,
    AccountsView,
)
