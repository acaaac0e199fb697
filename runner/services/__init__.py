"""Use cases: what the web front end and the CLI may ask of the runner.

Every function takes a SQLAlchemy Session (and the Registry of loaded definitions) and does one unit
of work on it; the caller owns the transaction. No Flask here.
"""

from .accounts import actor_for, authenticate, create_user, ensure_unit, get_user, units
from .cases import (
    CaseView, PublicView, case_view, perform_step, public_flows, public_role, start_case, startable_flows, track,
)
from .inbox import CaseRow, browse, for_information, waiting
from .publishing import last_good_versions, publish, publish_all
from .schedule import PeriodFigures, period_figures, tick

__all__ = [
    "CaseRow", "CaseView", "PeriodFigures", "PublicView", "actor_for", "authenticate", "browse", "case_view",
    "create_user", "ensure_unit", "for_information", "last_good_versions", "get_user", "perform_step", "period_figures", "public_flows", "public_role",
    "publish", "publish_all", "startable_flows",
    "start_case", "tick", "track", "units", "waiting",
]
