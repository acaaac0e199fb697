"""Use cases: what the web front end and the CLI may ask of the runner.

Every function takes a SQLAlchemy Session (and the Registry of loaded definitions) and does one unit
of work on it; the caller owns the transaction. No Flask here.
"""

from .accounts import (
    actor_for, authenticate, check_password, check_roles, create_user, end_sessions, ensure_unit, get_user, session_token,
    set_active, units, user_for_session,
)
from .cases import (
    AfterStep, CasePosition, CaseView, PublicView, after_step, case_position, case_view, perform_step, public_flow, public_flows, start_case, startable_flow,
    startable_flows, track,
)
from .inbox import CaseRow, browse, for_information, page_number, waiting
from .inbox import escalated, waiting_counts
from .inbox_deadlines import parse_filter as deadline_filter_of
from .integrity import check_database
from . import search_index  # noqa: F401  registers the listener keeping the search index in step with cases
from .search import CaseQuery, SearchPage, parse_query as case_query_of, search as search_cases
from .publishing import current_sops, last_good_versions, publish, publish_all
from .schedule import PeriodFigures, period_figures, tick
from .startup import Runtime, open_runtime

__all__ = [
    "AfterStep", "CasePosition", "CaseRow", "CaseView", "after_step", "case_position", "PeriodFigures", "PublicView", "Runtime", "actor_for", "authenticate", "browse", "check_roles",
    "case_view", "check_database", "create_user", "ensure_unit", "for_information", "get_user", "last_good_versions",
    "open_runtime", "current_sops", "page_number", "perform_step", "period_figures", "public_flow", "public_flows", "publish", "publish_all",
    "start_case", "startable_flow", "startable_flows", "tick", "track", "units", "waiting",
    "check_password", "end_sessions", "session_token", "set_active", "user_for_session",
    "deadline_filter_of", "escalated", "waiting_counts",
    "CaseQuery", "SearchPage", "case_query_of", "search_cases",
]
