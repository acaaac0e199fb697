"""The leaders' dashboard: an SOP's figures at a glance, computed by SQL aggregation.

Who may open it is the definition's (``dashboard.roles``, asked through ``access.may_see_dashboard``);
what it counts is the cases that person may see (``access.visible_criteria`` over every stored version
of the SOP), so a unit-scoped leader (a Kadis OPD) sees their own unit's cases only and the figures
never reveal a case the case list would hide.

Every figure is a GROUP BY over ``cases`` and ``history`` — never a loop over case objects — so the
page costs a handful of queries at a million cases:

* cases by status (each open step, each end) and by unit (open / finished);
* within the limit vs late per step and per unit: steps taken (``history.at`` against the due time the
  entry kept) and open steps (the stored ``due_at`` against now; a step on hold is never late);
  advisory limits are left out, they are never "late";
* working time per step against its limit: the median and 90th percentile of the working minutes of
  each stay (the recap's stays and percentiles, found without a window over all history; a test
  checks the two agree);
* the trend by month: reports received and finished in each of the last 12 months, months taken in
  the SOP's time zone (bucket bounds computed here, counted by a CASE expression in SQL).

A date range (``dari`` / ``sampai``, days in the SOP's time zone, inclusive) limits the cases to those
received in it; the trend then ends at the range's last month. Each figure is a :class:`recap.Table`
(the page's data table and its CSV are the same rows) with a :class:`Chart` saying how to draw it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Subquery, and_, func, not_, select
from sqlalchemy import case as when
from sqlalchemy.orm import Session, aliased

from .. import access
from ..access import Actor
from ..definition import Activity, Sop, Text, joined
from ..definition.model import TimeLimit
from ..errors import InvalidInput, NotAllowed, NotFound
from ..registry import Registry
from ..store import Case, HistoryEntry
from .accounts import units as unit_names
from .cases import utcnow
from .publishing import current_sops, stored_versions
from .cases import RESUMED
from .recap import NO_UNIT, Label, Table, _percentiles, _round, _t

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TREND_MONTHS = 12

OPEN = _t("Terbuka", "Open")
CLOSED = _t("Selesai", "Finished")
CASES = _t("Jumlah", "Cases")
STATUS = _t("Status", "Status")
UNIT = _t("Unit (OPD)", "Unit (OPD)")
STEP = _t("Langkah", "Step")
MONTH = _t("Bulan", "Month")
DEADLINE_HEADER: tuple[Label, ...] = (
    _t("Selesai dalam batas waktu", "Taken within the limit"), _t("Selesai terlambat", "Taken late"),
    _t("Terbuka, dalam batas waktu", "Open, within the limit"), _t("Terbuka, terlambat", "Open, overdue"),
)
TIMING_HEADER: tuple[Label, ...] = (
    _t("Langkah selesai", "Steps taken"), _t("Median menit kerja", "Median working minutes"),
    _t("Persentil ke-90 menit kerja", "90th percentile working minutes"),
    _t("Batas waktu (menit kerja)", "Time limit (working minutes)"), _t("Batas waktu", "Time limit"),
)


@dataclass(frozen=True)
class Chart:
    """How to draw a table: which value columns are the series (indexes into a row's values), stacked
    or side by side, and optionally a column drawn as a marker on each bar (a step's time limit)."""

    series: tuple[int, ...]
    stacked: bool = False
    marker: int | None = None


@dataclass(frozen=True)
class Panel:
    table: Table
    chart: Chart


@dataclass(frozen=True)
class DateRange:
    """Cases received from ``start`` (inclusive) to ``end`` (exclusive), as typed (``dari``/``sampai``)."""

    start: dt.datetime | None
    end: dt.datetime | None
    first_day: str = ""
    last_day: str = ""


@dataclass(frozen=True)
class Dashboard:
    sop: Sop
    range: DateRange
    panels: tuple[Panel, ...]
    total: int  # cases counted (received in the range, visible to the actor)

    def panel(self, key: str) -> Panel:
        for p in self.panels:
            if p.table.key == key:
                return p
        raise NotFound(f"no dashboard table '{key[:40]}'")


# -- who and what ---------------------------------------------------------------------------------
def dashboard_sops(session: Session, registry: Registry, actor: Actor) -> list[Sop]:
    """The current SOPs whose dashboard ``actor`` may open (for the inbox's links)."""
    return [s for s in current_sops(session, registry).values() if access.may_see_dashboard(s, actor)]


def dashboard_sop(session: Session, registry: Registry, sop_id: str, actor: Actor) -> Sop:
    """The SOP whose dashboard is asked for: NotFound when there is none (no such SOP, or it declares no
    dashboard), NotAllowed when ``actor`` holds none of its dashboard roles."""
    sop = current_sops(session, registry).get(sop_id)
    if sop is None or sop.dashboard is None:
        raise NotFound(f"no dashboard for '{sop_id[:64]}'")
    if not access.may_see_dashboard(sop, actor):
        names = tuple(r.name for rid in sop.dashboard.roles if (r := sop.role(rid)) is not None)
        raise NotAllowed("the dashboard is for " + ", ".join(str(n) for n in names), roles=names)
    return sop


def parse_range(sop: Sop, first: str | None, last: str | None) -> DateRange:
    """The range of ``?dari=YYYY-MM-DD&sampai=YYYY-MM-DD`` (either may be left out), in the SOP's time
    zone; InvalidInput with a plain message for a date that is not one, or a range that ends before
    it starts."""
    zone = sop.calendar.zone

    def day(text: str | None, name: str) -> dt.date | None:
        text = (text or "").strip()
        if not text:
            return None
        if len(text) > 10 or not _DAY.match(text):
            raise InvalidInput(f"'{text[:20]}' is not a date; write the {name} date as YYYY-MM-DD, e.g. 2026-11-30")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"'{text}' is not a date of the calendar") from None

    start, end = day(first, "first"), day(last, "last")
    if start is not None and end is not None and end < start:
        raise InvalidInput(f"the range ends ({end}) before it starts ({start})")
    return DateRange(
        dt.datetime.combine(start, dt.time(), zone) if start else None,
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone) if end else None,
        start.isoformat() if start else "", end.isoformat() if end else "")


PANELS = ("status", "units", "deadlines_steps", "deadlines_units", "timing", "trend")


def dashboard(session: Session, registry: Registry, sop_id: str, actor: Actor, *, first: str | None = None,
              last: str | None = None, now: dt.datetime | None = None, only: str | None = None) -> Dashboard:
    """The panels of the dashboard of ``sop_id`` for ``actor`` (see the module's docstring): all of
    them, or with ``only`` just that one (a CSV download computes only its table; NotFound for a key
    that names no panel)."""
    now = now or utcnow()
    sop = dashboard_sop(session, registry, sop_id, actor)
    if only is not None and only not in PANELS:
        raise NotFound(f"no dashboard table '{only[:40]}'")
    span = parse_range(sop, first, last)
    versions = [(d, s) for d, s in stored_versions(session, registry) if s.id == sop.id]
    seen = [Case.sop_id == sop.id, Case.period.is_(None), access.visible_criteria(versions, actor)]
    cond = list(seen)
    if span.start is not None:
        cond.append(Case.created_at >= span.start)
    if span.end is not None:
        cond.append(Case.created_at < span.end)
    units = unit_names(session)
    by_state, total = _by_state(session, sop, cond)  # cheap (cases only), and it gives the total
    wanted = set(PANELS) if only is None else {only}
    panels = [by_state]
    if "units" in wanted:
        panels.append(_by_unit(session, cond, units))
    if wanted & {"deadlines_steps", "deadlines_units"}:
        panels.extend(_deadlines(session, sop, cond, now, units))
    if "timing" in wanted:
        panels.append(_timing(session, sop, cond))
    if "trend" in wanted:
        panels.append(_trend(session, sop, seen, (span.end - dt.timedelta(seconds=1)) if span.end else now))
    return Dashboard(sop, span, tuple(panels), total)


def _steps(sop: Sop) -> list[Activity]:
    flows = {f.id for f in sop.case_flows}
    return sorted((a for a in sop.activities if a.flow in flows), key=lambda a: a.no)


def _step_name(a: Activity) -> Text:
    return joined(f"{a.no}. ", a.name)


# -- the panels -----------------------------------------------------------------------------------
def _by_state(session: Session, sop: Sop, cond: Sequence[ColumnElement[bool]]) -> tuple[Panel, int]:
    counts = dict(session.execute(select(Case.state, func.count()).where(*cond).group_by(Case.state)).all())
    rows: list[tuple[Label, tuple[Any, ...]]] = []
    known: set[str] = set()
    for a in _steps(sop):
        known.add(a.id)
        rows.append((joined(OPEN, ": ", _step_name(a)), (counts.get(a.id, 0), 0)))
    for f in sop.case_flows:
        for e in f.ends:
            known.add(e.id)
            rows.append((joined(CLOSED, ": ", e.name), (0, counts.get(e.id, 0))))
    for state in sorted(s for s in counts if s not in known):  # a state only an older version has
        rows.append((state, (counts[state], 0)))
    table = Table("status", _t("Laporan per status", "Cases by status"), (STATUS, OPEN, CLOSED), tuple(rows))
    return Panel(table, Chart((0, 1), stacked=True)), sum(counts.values())


def _unit_rows(found: dict[Any, list[int]], units: dict[str, str]) -> tuple[tuple[Label, tuple[Any, ...]], ...]:
    named = sorted((u for u in found if u is not None), key=lambda u: units.get(u, u))
    rows: list[tuple[Label, tuple[Any, ...]]] = [(units.get(u, u), tuple(found[u])) for u in named]
    if None in found:
        rows.append((NO_UNIT, tuple(found[None])))
    return tuple(rows) if rows else ()


def _by_unit(session: Session, cond: Sequence[ColumnElement[bool]], units: dict[str, str]) -> Panel:
    is_open = when((Case.closed_at.is_(None), 1), else_=0)
    found: dict[str | None, list[int]] = {}
    for unit, opened, n in session.execute(select(Case.unit_id, is_open, func.count()).where(*cond)
                                           .group_by(Case.unit_id, is_open)):
        found.setdefault(unit, [0, 0])[0 if opened else 1] += n
    table = Table("units", _t("Laporan per unit (OPD)", "Cases by unit (OPD)"), (UNIT, OPEN, CLOSED),
                  _unit_rows(found, units))
    return Panel(table, Chart((0, 1), stacked=True))


def _binding(sop: Sop) -> list[Activity]:
    """Steps with a binding time limit: only those can be late."""
    return [a for a in _steps(sop) if a.time_limit is not None and not a.time_limit.advisory]


def _deadlines(session: Session, sop: Sop, cond: Sequence[ColumnElement[bool]], now: dt.datetime,
               units: dict[str, str]) -> tuple[Panel, Panel]:
    """Within the limit vs late, per step and per unit: steps taken (by the due time their history
    entry kept) and open steps (their stored due time against ``now``; on hold counts as within: its
    clock stopped). One grouped query over history and one over open cases give both tables."""
    steps = _binding(sop)
    ids = [a.id for a in steps]
    h = HistoryEntry
    late_taken = when((h.at > h.due_at, 1), else_=0)
    per_step: dict[Any, list[int]] = {}
    per_unit: dict[Any, list[int]] = {}

    def add(step: Any, unit: Any, column: int, n: int) -> None:
        per_step.setdefault(step, [0, 0, 0, 0])[column] += n
        per_unit.setdefault(unit, [0, 0, 0, 0])[column] += n

    taken = (select(h.activity, Case.unit_id, late_taken, func.count()).join(Case, Case.id == h.case_id)
             .where(*cond, h.activity.in_(ids), h.action.is_not(None),
                    not_(h.action.startswith("__", autoescape=True)), h.due_at.is_not(None))
             .group_by(h.activity, Case.unit_id, late_taken))
    for step, unit, late, n in session.execute(taken):
        add(step, unit, 1 if late else 0, n)
    overdue = when((and_(Case.paused_at.is_(None), Case.due_at < now), 1), else_=0)
    still = (select(Case.state, Case.unit_id, overdue, func.count())
             .where(*cond, Case.closed_at.is_(None), Case.state.in_(ids), Case.due_at.is_not(None),
                    Case.due_advisory.is_(False))
             .group_by(Case.state, Case.unit_id, overdue))
    for step, unit, late, n in session.execute(still):
        add(step, unit, 3 if late else 2, n)
    by_unit = Table("deadlines_units", _t("Tepat waktu dan terlambat per unit (OPD)",
                                          "Within the limit and late by unit (OPD)"),
                    (UNIT, *DEADLINE_HEADER), _unit_rows(per_unit, units))
    by_step = Table("deadlines_steps", _t("Tepat waktu dan terlambat per langkah", "Within the limit and late by step"),
                    (STEP, *DEADLINE_HEADER),
                    tuple((_step_name(a), tuple(per_step.get(a.id, [0, 0, 0, 0]))) for a in steps))
    chart = Chart((0, 1, 2, 3), stacked=True)
    return Panel(by_step, chart), Panel(by_unit, chart)


def limit_minutes(sop: Sop, limit: TimeLimit | None) -> int | None:
    """A time limit in working minutes, a working day counted as the calendar's usual day (its most
    common length), so a limit in days can be drawn against working minutes."""
    if limit is None:
        return None
    lengths = [sum((iv.end.hour * 60 + iv.end.minute) - (iv.start.hour * 60 + iv.start.minute) for iv in day)
               for day in sop.calendar.hours]
    usual = Counter(n for n in lengths if n > 0).most_common(1)
    return limit.duration.minutes + limit.duration.days * (usual[0][0] if usual else 0)


def _timing(session: Session, sop: Sop, cond: Sequence[ColumnElement[bool]]) -> Panel:
    """Median and 90th percentile of each step's working minutes (whole stays, pauses left out)."""
    steps = _steps(sop)
    v = _stays(cond, [a.id for a in steps])
    taken = v.c.activity.is_not(None)
    counts: dict[str, tuple[int, int]] = {}
    timed = v.c.missing == 0
    percentiles: dict[str, tuple[float | None, float | None]] = {}
    if session.get_bind().dialect.name == "postgresql":  # one pass: counts and percentiles together
        for activity, n, k, median, p90 in session.execute(
                select(v.c.activity, func.count(), func.sum(when((timed, 1), else_=0)),
                       func.percentile_cont(0.5).within_group(v.c.worked).filter(timed),
                       func.percentile_cont(0.9).within_group(v.c.worked).filter(timed))
                .where(taken).group_by(v.c.activity)):
            counts[activity] = (int(n), int(k or 0))
            percentiles[activity] = (_round(median), _round(p90))
    else:
        for activity, n, k in session.execute(select(v.c.activity, func.count(), func.sum(when((timed, 1), else_=0)))
                                              .where(taken).group_by(v.c.activity)):
            counts[activity] = (int(n), int(k or 0))
        percentiles = _percentiles(session, v, and_(taken, timed), {a: c[1] for a, c in counts.items()})
    rows = []
    for a in steps:
        median, p90 = percentiles.get(a.id, (None, None))
        limit = a.time_limit
        text: Label | None = (joined(limit.text, " (", _t("anjuran", "advisory"), ")") if limit.advisory
                              else limit.text) if limit else None
        rows.append((_step_name(a), (counts.get(a.id, (0, 0))[0], median, p90, limit_minutes(sop, limit), text)))
    table = Table("timing", _t("Waktu kerja per langkah terhadap batas waktunya", "Working time per step against its limit"),
                  (STEP, *TIMING_HEADER), tuple(rows))
    return Panel(table, Chart((1, 2), marker=3))


def _stays(cond: Sequence[ColumnElement[bool]], step_ids: list[str]) -> Subquery:
    """One row per stay at a step ended by an action — the same stays and minutes as
    ``recap._visits``, without its window over every history row.

    A stay is the action's entry plus the internal entries (``__paused``, ``__escalated``, …) just
    before it. Internal entries are few, so each is assigned to the next action entry of its case
    (an indexed look-up on (case, seq)) and summed per action; the action entries are then read in one
    pass with those few sums joined on. ``missing`` counts entries without worked minutes (recorded
    before they were kept), as the recap does."""
    h = HistoryEntry
    nxt = aliased(HistoryEntry, name="next_entry")
    by_action = and_(h.action.is_not(None), not_(h.action.startswith("__", autoescape=True)))
    next_seq = (select(func.min(nxt.seq)).where(nxt.case_id == h.case_id, nxt.seq > h.seq, nxt.action.is_not(None),
                                                not_(nxt.action.startswith("__", autoescape=True)))
                .scalar_subquery())
    internal = (select(h.case_id.label("case_id"), next_seq.label("seq"),
                       when((h.action == RESUMED, 0), else_=h.worked_minutes).label("worked"),
                       when((h.action == RESUMED, 0), (h.worked_minutes.is_(None), 1), else_=0).label("missing"))
                .join(Case, Case.id == h.case_id).where(*cond, h.action.startswith("__", autoescape=True)).subquery())
    extra = (select(internal.c.case_id, internal.c.seq, func.sum(internal.c.worked).label("worked"),
                    func.sum(internal.c.missing).label("missing"))
             .where(internal.c.seq.is_not(None)).group_by(internal.c.case_id, internal.c.seq).subquery())
    return (select(h.activity.label("activity"),
                   (h.worked_minutes + func.coalesce(extra.c.worked, 0)).label("worked"),
                   (when((h.worked_minutes.is_(None), 1), else_=0) + func.coalesce(extra.c.missing, 0)).label("missing"))
            .join(Case, Case.id == h.case_id)
            .outerjoin(extra, and_(extra.c.case_id == h.case_id, extra.c.seq == h.seq))
            .where(*cond, by_action, h.activity.in_(step_ids)).subquery())


def month_starts(sop: Sop, last: dt.datetime, n: int = TREND_MONTHS) -> list[dt.datetime]:
    """The first moments of the ``n`` months ending with the month of ``last``, and of the month after
    (n + 1 bounds), in the SOP's time zone."""
    local = last.astimezone(sop.calendar.zone)
    year, month = local.year, local.month
    out = []
    for k in range(-(n - 1), 2):
        m = month - 1 + k
        out.append(dt.datetime(year + m // 12, m % 12 + 1, 1, tzinfo=sop.calendar.zone))
    return out


def _trend(session: Session, sop: Sop, seen: Sequence[ColumnElement[bool]], last: dt.datetime) -> Panel:
    """Received (created) and finished (closed) per month over the last 12 months: each moment is
    put in its month by a CASE over the month bounds, so no database date function is needed and
    the months are the SOP's local ones on every backend."""
    bounds = month_starts(sop, last)
    received = [0] * TREND_MONTHS
    finished = [0] * TREND_MONTHS
    for column, out in ((Case.created_at, received), (Case.closed_at, finished)):
        bucket = when(*((column < bounds[k + 1], k) for k in range(TREND_MONTHS))).label("bucket")
        inner = select(bucket).where(*seen, column >= bounds[0], column < bounds[-1]).subquery()
        for k, n in session.execute(select(inner.c.bucket, func.count()).group_by(inner.c.bucket)):
            if k is not None:
                out[int(k)] = n
    rows = tuple((f"{b.year:04d}-{b.month:02d}", (received[k], finished[k])) for k, b in enumerate(bounds[:-1]))
    table = Table("trend", _t("Tren per bulan", "Trend by month"),
                  (MONTH, _t("Diterima", "Received"), _t("Selesai", "Finished")), rows)
    return Panel(table, Chart((0, 1)))


def table_csv(table: Table, locale: str | None = None) -> str:
    """One table as CSV: its header and rows, exactly the page's data table."""
    import csv
    import io

    from .recap import _cells

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for cells in _cells(table, locale):
        w.writerow(["" if c is None else c for c in cells])
    return out.getvalue()


__all__ = ["Chart", "Dashboard", "DateRange", "Panel", "dashboard", "dashboard_sop", "dashboard_sops",
           "limit_minutes", "month_starts", "parse_range", "table_csv"]
