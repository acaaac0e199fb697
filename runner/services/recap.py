"""The monthly recap: a scheduled flow's period report, computed by SQL aggregation.

The report covers the cases *received* in the month (created then, on the SOP's local calendar) of
the SOP's case flows. Everything it names comes from the definition: each action taken at each step,
each end reached, each step still open, and what the scheduled flow's ``recap`` says to break the
counts down by (select fields such as the channel, and the unit). The database does the counting
(GROUP BY over cases and history) and the percentiles of each step's working time — the sum of
``history.worked_minutes`` over a stay at the step, pauses left out (PostgreSQL ``percentile_cont``;
elsewhere one ``ORDER BY … LIMIT 2 OFFSET`` read per step and percentile) — so a month of a million
cases never becomes a million ORM objects. Rows written before worked_minutes existed (NULL) are
left out of the times and counted in ``MonthReport.untimed_steps``, which the page states.

The page, the CSV/XLSX downloads and ``sop recap`` all read one :class:`MonthReport`, so they show
the same figures.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import ColumnElement, Subquery, and_, func, literal, not_, or_, select
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from ..definition import Activity, Field, Flow, Sop, Text, display, joined
from ..errors import NotFound
from ..registry import Registry
from ..store import Case, HistoryEntry
from .accounts import units as unit_names
from .cases import RESUMED, engine_of, utcnow
from .publishing import current_sops

Value = int | float | Text | str | None  # a time limit is its text ("7,5 jam")
Label = Text | str

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _t(indonesian: str, english: str) -> Text:
    return Text(indonesian, (("en", english),))


RECEIVED = _t("Diterima", "Received")
OVERDUE = _t("Terlambat saat ini", "Overdue now")
ALL = _t("Semua", "All")
NO_UNIT = _t("Belum ada unit", "No unit yet")
NOT_GIVEN = _t("Tidak diisi", "Not given")
MEASURE = _t("Ukuran", "Measure")
ADVISORY = _t("anjuran", "advisory")


@dataclass(frozen=True)
class Table:
    """One table of the report: a header row and rows of a label and numbers (None: no figure)."""

    key: str  # stable: the CSV section and the XLSX sheet are named from it
    caption: Label
    header: tuple[Label, ...]  # the label column's header first
    rows: tuple[tuple[Label, tuple[Value, ...]], ...]

    def row(self, label: str, locale: str | None = None) -> tuple[Value, ...]:
        """The numbers of the row labelled ``label`` (as displayed in ``locale``); for tests and tools."""
        for name, values in self.rows:
            if display(name, locale) == label:
                return values
        raise KeyError(label)


@dataclass(frozen=True)
class MonthReport:
    sop_id: str
    period: str
    tables: tuple[Table, ...]
    untimed_steps: int  # steps recorded before history.worked_minutes was kept: left out of the times

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


def parse_period(text: str) -> tuple[int, int]:
    m = _PERIOD.match(text.strip())
    if m is None:
        raise ValueError(f"'{text}' is not a month; write it as YYYY-MM, e.g. 2026-11")
    return int(m.group(1)), int(m.group(2))


def month_bounds(sop: Sop, period: str) -> tuple[dt.datetime, dt.datetime]:
    """The month's first moment and the next month's, in the SOP's time zone."""
    year, month = parse_period(period)
    zone = sop.calendar.zone
    return (dt.datetime(year, month, 1, tzinfo=zone),
            dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone))


def _step_name(a: Activity) -> Text:
    return joined(f"{a.no}. ", a.name)


def _measures(sop: Sop) -> list[tuple[Label, tuple[str, ...]]]:
    """Every row of a count table, in the definition's order, with the key its count is filed under."""
    rows: list[tuple[Label, tuple[str, ...]]] = [(RECEIVED, ("received",))]
    flows = {f.id for f in sop.case_flows}
    steps = sorted((a for a in sop.activities if a.flow in flows), key=lambda a: a.no)
    for a in steps:
        for action in a.actions:
            rows.append((joined(_step_name(a), " → ", action.label), ("action", a.id, action.id)))
    for f in sop.case_flows:
        for end in f.ends:
            rows.append((joined(_t("Selesai: ", "Ended: "), end.name), ("state", end.id)))
    for a in steps:
        rows.append((joined(_t("Masih terbuka di ", "Still open at "), _step_name(a)), ("state", a.id)))
    rows.append((OVERDUE, ("overdue",)))
    return rows


def _field(sop: Sop, field_id: str) -> Field | None:
    for f in sop.case_flows:
        for fld in f.intake:
            if fld.id == field_id:
                return fld
    flows = {f.id for f in sop.case_flows}
    for a in sop.activities:
        if a.flow in flows:
            for fld in a.fields:
                if fld.id == field_id:
                    return fld
    return None


def month_report(session: Session, sop: Sop, flow: Flow, period: str,
                 now: dt.datetime | None = None) -> MonthReport:
    """The report of ``period`` (YYYY-MM) for ``sop``, broken down as the scheduled ``flow`` says."""
    now = now or utcnow()
    start, end = month_bounds(sop, period)
    case_flows = [f.id for f in sop.case_flows]
    cond = (Case.sop_id == sop.id, Case.flow.in_(case_flows), Case.created_at >= start, Case.created_at < end)
    measures = _measures(sop)
    tables = [_counts(session, sop, cond, now, measures, "totals", _t("Ringkasan", "Summary"),
                      literal("*"), [("*", ALL)])]
    if flow.recap.units:
        names = unit_names(session)
        present = [u for u in session.scalars(select(Case.unit_id).where(*cond).distinct())]
        columns: list[tuple[str | None, Label]] = sorted(
            ((u, names.get(u, u)) for u in present if u is not None), key=lambda c: str(c[1]))
        if None in present:
            columns.append((None, NO_UNIT))
        tables.append(_counts(session, sop, cond, now, measures, "units", _t("Per unit (OPD)", "By unit (OPD)"),
                              Case.unit_id, columns))
    for field_id in flow.recap.by:
        fld = _field(sop, field_id)
        if fld is None:  # the loader refuses this; an older version's field may be gone
            continue
        key = Case.data[field_id].as_string()
        present_values = set(session.scalars(select(key).where(*cond).distinct()))
        opts: list[tuple[str | None, Label]] = [(o.value, o.label) for o in fld.options]
        known = {o.value for o in fld.options}
        opts += [(v, v) for v in sorted(v for v in present_values if v is not None and v not in known)]
        if None in present_values:
            opts.append((None, NOT_GIVEN))
        tables.append(_counts(session, sop, cond, now, measures, f"by_{field_id}",
                              joined(_t("Per ", "By "), fld.label), key, opts))
    timing, untimed = _timing(session, sop, cond)
    tables.append(timing)
    return MonthReport(sop.id, period, tuple(tables), untimed)


def _counts(session: Session, sop: Sop, cond: Sequence[ColumnElement[bool]], now: dt.datetime,
            measures: list[tuple[Label, tuple[str, ...]]], key: str, caption: Label,
            group: Any, columns: Sequence[tuple[str | None, Label]]) -> Table:
    """One count table: a row per measure, a column per group value. Three GROUP BY queries."""
    counts: dict[tuple[Any, ...], int] = {}
    for g, state, n in session.execute(select(group, Case.state, func.count()).where(*cond)
                                       .group_by(group, Case.state)):
        counts[("state", state, g)] = n
        counts[("received", g)] = counts.get(("received", g), 0) + n
    taken = (select(group, HistoryEntry.activity, HistoryEntry.action, func.count(func.distinct(Case.id)))
             .join(Case, Case.id == HistoryEntry.case_id).where(*cond, HistoryEntry.activity.is_not(None))
             .group_by(group, HistoryEntry.activity, HistoryEntry.action))
    for g, activity, action, n in session.execute(taken):
        counts[("action", activity, action, g)] = n
    late = (select(group, func.count()).where(*cond, Case.closed_at.is_(None), Case.due_at < now,
                                              Case.due_advisory.is_(False), Case.paused_at.is_(None))
            .group_by(group))  # a step on hold has no clock running: not overdue
    for g, n in session.execute(late):
        counts[("overdue", g)] = n
    rows = tuple((label, tuple(counts.get((*mkey, g), 0) for g, _ in columns)) for label, mkey in measures)
    return Table(key, caption, (MEASURE, *(name for _, name in columns)), rows)


TIMING_HEADER: tuple[Label, ...] = (
    _t("Langkah", "Step"), _t("Langkah selesai", "Steps taken"),
    _t("Median menit kerja", "Median working minutes"),
    _t("Persentil ke-90 menit kerja", "90th percentile working minutes"),
    _t("Batas waktu", "Time limit"),
    _t("Selesai dalam batas waktu (%)", "Finished within the limit (%)"),
)


def _timing(session: Session, sop: Sop, cond: Sequence[ColumnElement[bool]]) -> tuple[Table, int]:
    """Per step: how many were taken, the median and 90th percentile of their working minutes, and
    the share taken by the step's due time (the due time the history entry of the action kept)."""
    flows = {f.id for f in sop.case_flows}
    steps = sorted((a for a in sop.activities if a.flow in flows), key=lambda a: a.no)
    v = _visits(cond)
    taken = and_(v.c.reals == 1, v.c.action.is_not(None), v.c.activity.in_([a.id for a in steps]))
    stats: dict[str, tuple[int, int, int, int]] = {}
    for activity, n, timed, limited, within in session.execute(
            select(v.c.activity, func.count(), func.sum(when((v.c.missing == 0, 1), else_=0)),
                   func.sum(v.c.limited), func.sum(v.c.within)).where(taken).group_by(v.c.activity)):
        stats[activity] = (n, int(timed or 0), int(limited or 0), int(within or 0))
    percentiles = _percentiles(session, v, and_(taken, v.c.missing == 0), {a: s[1] for a, s in stats.items()})
    rows = []
    untimed = 0
    for a in steps:
        n, timed, limited, within = stats.get(a.id, (0, 0, 0, 0))
        untimed += n - timed
        median, p90 = percentiles.get(a.id, (None, None))
        limit = a.time_limit
        limit_text = (joined(limit.text, " (", ADVISORY, ")") if limit.advisory else limit.text) if limit else None
        share = round(100 * within / limited, 1) if limited else None
        rows.append((_step_name(a), (n, median, p90, limit_text, share)))
    caption = _t("Waktu kerja per langkah", "Working time per step")
    return Table("timing", caption, TIMING_HEADER, tuple(rows)), untimed


def _visits(cond: Sequence[ColumnElement[bool]]) -> Subquery:
    """One row per stay at a step ended by an action, with the working minutes of the whole stay.

    ``history.worked_minutes`` is the time since the entry before, and a stay may hold entries that
    do not move the case (``__paused``, ``__resumed``, ``__escalated``, ``__migrated``; no SOP action
    starts with "_"): a stay is the action's entry with the internal entries just before it, and its
    time is their sum, less the paused stretch (what a ``__resumed`` entry measured). ``missing``
    counts entries written before worked_minutes was kept; ``within`` / ``limited``: the action was
    taken by (has) a due time."""
    h = HistoryEntry
    real = when((or_(h.action.is_(None), not_(h.action.startswith("__", autoescape=True))), 1), else_=0)
    by_action = and_(h.action.is_not(None), not_(h.action.startswith("__", autoescape=True)))
    entries = (select(
        h.case_id, h.activity, h.action, real.label("real"),
        when((h.action == RESUMED, 0), else_=h.worked_minutes).label("worked"),
        when((h.action == RESUMED, 0), (h.worked_minutes.is_(None), 1), else_=0).label("missing"),
        when((and_(by_action, h.due_at.is_not(None)), 1), else_=0).label("limited"),
        when((and_(by_action, h.due_at.is_not(None), h.at <= h.due_at), 1), else_=0).label("within"),
        (func.sum(real).over(partition_by=h.case_id, order_by=h.seq) - real).label("visit"),
    ).join(Case, Case.id == h.case_id).where(*cond).subquery())
    e = entries.c
    return (select(func.max(when((e.real == 1, e.activity))).label("activity"),
                   func.max(when((e.real == 1, e.action))).label("action"),
                   func.sum(e.real).label("reals"), func.sum(e.worked).label("worked"),
                   func.sum(e.missing).label("missing"), func.sum(e.limited).label("limited"),
                   func.sum(e.within).label("within"))
            .group_by(e.case_id, e.visit).subquery())


def _percentiles(session: Session, v: Subquery, timed: ColumnElement[bool],
                 counts: dict[str, int]) -> dict[str, tuple[float | None, float | None]]:
    """Median and 90th percentile of each step's working minutes, interpolated as ``percentile_cont``."""
    minutes = v.c.worked
    if session.get_bind().dialect.name == "postgresql":
        q = (select(v.c.activity, func.percentile_cont(0.5).within_group(minutes),
                    func.percentile_cont(0.9).within_group(minutes)).where(timed).group_by(v.c.activity))
        return {a: (_round(m), _round(p)) for a, m, p in session.execute(q)}
    out: dict[str, tuple[float | None, float | None]] = {}
    for activity, n in counts.items():
        if not n:
            continue
        values = []
        for p in (0.5, 0.9):
            pos = p * (n - 1)
            lo = math.floor(pos)
            pair: list[int] = list(session.scalars(select(minutes).where(timed, v.c.activity == activity)
                                                   .order_by(minutes).limit(2).offset(lo)))
            low = float(pair[0])
            values.append(_round(low + (float(pair[1]) - low) * (pos - lo) if len(pair) > 1 else low))
        out[activity] = (values[0], values[1])
    return out


def _round(v: Any) -> float | None:
    return None if v is None else round(float(v), 1)


# -- finding the report ---------------------------------------------------------------------------
def report_for_case(session: Session, registry: Registry, case: Case,
                    now: dt.datetime | None = None) -> MonthReport | None:
    """The report a scheduled case shows (its own version's names), or None for a per-report case."""
    sop = engine_of(registry, case).sop
    flow = sop.flow(case.flow)
    if flow is None or flow.schedule is None or not case.period:
        return None
    return month_report(session, sop, flow, case.period, now)


def report_for_month(session: Session, registry: Registry, period: str, sop_id: str | None = None,
                     now: dt.datetime | None = None) -> MonthReport:
    """What ``sop recap MONTH [--sop ID]`` writes: the month's recap case's report when the case
    exists (so it equals the page), else the current version's. ``sop_id`` may be left out when only
    one SOP has a scheduled flow."""
    parse_period(period)
    sops = [s for s in current_sops(session, registry).values() if s.scheduled_flows]
    if sop_id is not None:
        sops = [s for s in sops if s.id == sop_id]
        if not sops:
            raise NotFound(f"no SOP '{sop_id}' with a scheduled flow (a monthly recap)")
    elif len(sops) != 1:
        raise NotFound("name the SOP with --sop: " + (", ".join(sorted(s.id for s in sops)) or
                                                       "no SOP has a scheduled flow"))
    sop = sops[0]
    flow = sop.scheduled_flows[0]
    case = session.scalar(select(Case).where(Case.sop_id == sop.id, Case.flow == flow.id, Case.period == period))
    if case is not None:
        report = report_for_case(session, registry, case, now)
        if report is not None:
            return report
    return month_report(session, sop, flow, period, now)


# -- exports --------------------------------------------------------------------------------------
def _cells(table: Table, locale: str | None) -> Iterable[list[Any]]:
    yield [display(h, locale) for h in table.header]
    for label, values in table.rows:
        yield [display(label, locale), *(display(v, locale) if isinstance(v, Text) else v for v in values)]


def to_csv(report: MonthReport, locale: str | None = None) -> str:
    """Every table one after another: its caption, its header, its rows, and a blank line."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([f"{report.sop_id} {report.period}"])
    for table in report.tables:
        w.writerow([])
        w.writerow([display(table.caption, locale)])
        for cells in _cells(table, locale):
            w.writerow(["" if c is None else c for c in cells])
    if report.untimed_steps:
        w.writerow([])
        w.writerow([display(untimed_note(report.untimed_steps), locale)])
    return out.getvalue()


def to_xlsx(report: MonthReport, locale: str | None = None) -> bytes:
    """A sheet per table (named from its caption), headers in bold, numbers stored as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    if book.active is not None:  # a new workbook's empty first sheet
        book.remove(book.active)
    for table in report.tables:
        sheet = book.create_sheet(_sheet_name(display(table.caption, locale), table.key, book.sheetnames))
        for cells in _cells(table, locale):
            sheet.append(cells)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(caption: str, key: str, taken: list[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", caption).strip()[:31] or key[:31]
    return name if name not in taken else key[:31]


def untimed_note(n: int) -> Text:
    return _t(f"{n} langkah tercatat sebelum waktu kerja disimpan; tidak dihitung dalam waktu kerja.",
              f"{n} steps were recorded before working time was kept; they are left out of the working times.")
