"""``sop seed-demo``: months of realistic demo cases, written in bulk (a million on PostgreSQL in minutes).

``sop demo --cases`` walks a few cases through the services, one transaction per step; that shows
every state but no figures. This fills a database the way months of work would: cases of every
current SOP's case flows spread over the last N months, every way through each flow
(``runner.paths.flow_paths``) and cases waiting at every activity, older cases mostly finished and
recent ones open; some overdue, some escalated (overdue past the step's ``escalate_after``, with the
notice and ``__escalated`` entry ``sop tick`` would have written), some on hold or put on hold and
resumed (the ``__paused`` / ``__resumed`` entries exactly as ``services.pauses`` writes them), some
steps taken by an acting official (a ``delegations`` row and ``history.on_behalf_of``, as
``cases.perform_step`` writes for a delegate). Past months' scheduled cases (the monthly recap) are
opened and worked through the services themselves, so the recap page has figures.

**Why it is fast and still the application's data.** Nothing here knows an SOP. Each way through a
flow is first walked once per *variant* (field values, units, starter) through the real
``Engine`` — so states, actions, acting roles, the cleaned values and the unit a step assigns are
the engine's own — and then stamped out: for each case only the times are computed, from the SOP's
calendar (``Sop.calendar_at``: the performing unit's hours where it has its own), so every step
happens in working hours, every due time is ``calendar.add`` of the step's limit, and
``history.worked_minutes`` is the working time since the entry before (what the recap's medians
read). Rows go in with SQLAlchemy Core ``insert()`` in large executemany batches on SQLite and
through ``COPY`` on PostgreSQL, in one transaction; case ids are taken from ``max(id)`` under a
table lock and the sequence is set afterwards (history rows take theirs from the sequence).

Seeded cases carry ``_seed_demo`` in their data (a reserved key: no field id starts with ``_``), so a
second run sees them and writes nothing unless forced: ``make run`` twice does not double the data.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence, cast

from sqlalchemy import Boolean, DateTime, Integer, Text, column, func, insert, select, table, text
from sqlalchemy.orm import Session

from .. import deadlines
from ..access import Actor
from ..definition import Activity, Action, Field, Flow, Sop, display
from ..durations import Duration
from ..engine import Engine
from ..errors import InvalidForm, InvalidInput, NotAllowed, SopError
from ..logs import event
from ..paths import flow_paths
from ..privacy import Privacy
from ..registry import Registry
from ..simulate import sample_value
from ..store import Case, Delegation, User
from ..working_time import Calendar
from .accounts import actor_for, units as unit_names
from .cases import (
    ACTING_KEY,
    ESCALATE_TO_KEY,
    ESCALATED,
    PAUSE_REASON_KEY,
    PAUSED,
    REMAINING_KEY,
    RESUMED,
    _CODE_ALPHABET,
    perform_step,
    start_case,
    utcnow,
)
from .demo_cases import _plan
from .escalations import KIND as ESCALATION_KIND, SYSTEM, escalation_key
from .pauses import due_after_resume, minutes_left
from .publishing import current_row, current_sops

__all__ = ["MAX_CASES", "MAX_MONTHS", "SEED_KEY", "SeedReport", "seed_demo"]

log = logging.getLogger(__name__)

SEED_KEY = "_seed_demo"  # in a seeded case's data: the run's seed (a reserved key, never a field)
SEEDED_BY = "sop seed-demo"  # delegations.created_by of the delegations it makes
MAX_MONTHS = 120
MAX_CASES = 10_000_000
VARIANTS = 12  # walks per way through a flow: examples, units and starters rotate across them
STUCK_SHARE = 0.12  # cases left waiting at a step (a backlog: old ones are overdue, some escalated)
PAUSE_WAITING = 0.4  # of the cases waiting at a step that may be put on hold
PAUSE_STEP = 0.08  # of the stays at such a step that were put on hold and resumed
MEDIAN_SHARE = 0.45  # a step typically takes this share of its time limit ...
SPREAD = 0.6  # ... log-normally (about one step in eleven is late)
NO_LIMIT_MINUTES = 120  # the typical working time of a step without a limit
BATCH = 20_000  # cases per batch written
LARGE = 50_000  # from this many cases on PostgreSQL, full-text indexes and foreign keys are made after the load


@dataclass(frozen=True)
class SeedReport:
    cases: int
    history: int
    notices: int
    delegations: int
    scheduled: int  # scheduled (monthly) cases opened through the services
    seconds: float
    skipped: bool = False

    def summary(self) -> str:
        if self.skipped:
            return ("the database already holds seeded demo cases: nothing written "
                    "(sop seed-demo --force adds more)")
        return (f"wrote {self.cases:,} cases, {self.history:,} history rows, {self.notices:,} escalation notices, "
                f"{self.delegations:,} delegations and {self.scheduled:,} monthly case(s) in {self.seconds:.1f} s")


# -- who acts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Person:
    user_id: int | None
    name: str
    unit: str | None


@dataclass(frozen=True)
class _Window:
    """A delegation row as the stamping needs it: who acts for whom, when."""

    starts: dt.datetime
    ends: dt.datetime
    kind: str
    delegate: _Person
    on_behalf_of: str
    unit: str | None


class _People:
    """The active accounts by role (and unit), read once: whose name and id each history row carries."""

    def __init__(self, session: Session):
        self.users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
        self.windows: dict[tuple[str, str | None], list[_Window]] = {}

    def holder(self, role: str, unit: str | None, scoped: bool) -> User | None:
        for u in self.users:
            if role in u.role_ids and (not scoped or u.unit_id == unit):
                return u
        return None

    def person(self, sop: Sop, role: str, unit: str | None) -> _Person:
        r = sop.role(role)
        scoped = r is not None and r.unit_scoped
        user = self.holder(role, unit, scoped)
        if user is None:  # nobody holds it: the row still names the role
            return _Person(None, display(r.name) if r is not None else role, unit if scoped else None)
        return _Person(user.id, user.full_name or user.username, user.unit_id)

    def delegate_for(self, sop: Sop, role: str, unit: str | None, scoped: bool, holder: User, n: int) -> User | None:
        """Another account to stand in: of the same unit for a unit's role, else one without a unit,
        preferably holding a role of the same SOP; rotated by ``n`` so not one person does it all."""
        own = {r.id for r in sop.roles}
        pool = [u for u in self.users if u.id != holder.id and role not in u.role_ids and u.role_ids
                and (u.unit_id == unit if scoped else u.unit_id is None)]
        pool.sort(key=lambda u: (not (u.role_ids & own), u.id))
        best = [u for u in pool if u.role_ids & own] or pool
        return best[n % len(best)] if best else None

    def acting(self, role: str, unit: str | None, at: dt.datetime) -> _Window | None:
        for w in self.windows.get((role, unit), ()):
            if w.starts <= at < w.ends:
                return w
        return None


# -- the ways through a flow, walked once by the engine ---------------------------------------------
@dataclass(frozen=True)
class _Step:
    activity: Activity
    action: Action
    target: str
    role: str
    scoped: bool  # the role is unit-scoped: its account is the case unit's
    unit: str | None  # the case's unit after the step
    data: dict[str, Any]  # the history entry's data (the engine's cleaned values)
    data_json: str
    dates: tuple[str, ...]  # date fields: set to the step's own day per case


@dataclass
class _Template:
    sop: Sop
    flow: Flow
    definition_id: int
    starter: _Person
    starter_role: str
    opening: dict[str, Any]
    opening_json: str
    title: str
    steps: tuple[_Step, ...]
    complete: bool  # walked to an end (else: the case waits after its steps)
    case_data: list[dict[str, Any]] = field(default_factory=list)  # after 0, 1, … steps (marker included)
    case_json: list[str] = field(default_factory=list)
    search: list[tuple[bool, str, str] | None] = field(default_factory=list)


def _value(f: Field, k: int, needed: bool, today: dt.date, units: Sequence[str]) -> Any:
    if f.type == "file":
        return None  # attachments need stored files: never seeded
    if f.type == "unit":
        return units[k % len(units)] if units else None
    if f.examples:
        value = f.examples[k % len(f.examples)]
        return ("on" if value else "") if isinstance(value, bool) else str(value)
    return sample_value(f, today) if needed or f.required else None


def _form(fields: Iterable[Field], needed: set[str], k: int, today: dt.date, units: Sequence[str]) -> dict[str, Any]:
    values = {f.id: _value(f, k, f.id in needed, today, units) for f in fields}
    return {key: value for key, value in values.items() if value is not None}


def _derive(sop: Sop, engine: Engine, flow: Flow, path: tuple[str, ...], k: int, definition_id: int,
            people: _People, units: Sequence[str], units_map: dict[str, str], moment: dt.datetime,
            complete: bool, seed: int) -> _Template:
    """Walk ``path`` once through the engine with variant ``k``'s values; what every case copies."""
    today = moment.astimezone(sop.calendar.zone).date()
    starter_role = flow.started_by[k % len(flow.started_by)]
    role = sop.role(starter_role)
    external = role is not None and role.external
    starter_actor = Actor.public(starter_role) if external else Actor(None, "seed", frozenset({starter_role}))
    raw = _form(flow.intake, set(), k, today, units)
    opening = engine.start(flow, starter_actor, raw, moment)
    values = {key: v for key, v in opening.values.items() if v is not None}
    values.update(Privacy.from_form(raw).stamped())
    title = str(values.get(flow.title_field, "")) if flow.title_field else ""
    starter = _Person(None, display(role.name) if role else starter_role, None) if external else \
        people.person(sop, starter_role, None)
    steps: list[_Step] = []
    state, unit = opening.target, None
    visits: dict[str, int] = {}
    for action_id in path:
        activity = sop.activity(state)
        action = activity.action(action_id) if activity is not None else None
        if activity is None or action is None:
            break
        seen = visits.get(activity.id, 0)
        visits[activity.id] = seen + 1
        performer = activity.performers[k % len(activity.performers)]
        prole = sop.role(performer)
        scoped = prole is not None and prole.unit_scoped
        actor = Actor(None, "seed", frozenset({performer}), unit if scoped else None)
        needed = set(action.requires) | ({action.assign_unit} if action.assign_unit else set())
        form = _form(activity.fields_of(action), needed, k + seen, today, units)
        step = engine.perform(state, unit, actor, action.id, form, moment, units_map)
        data = dict(step.values)
        dates = tuple(f.id for f in activity.fields_of(action) if f.type == "date" and data.get(f.id) is not None)
        steps.append(_Step(activity, action, step.target, step.acting_role, scoped, step.unit, data,
                           json.dumps(data, default=str), dates))
        state, unit = step.target, step.unit
    tmpl = _Template(sop, flow, definition_id, starter, opening.acting_role or starter_role, values,
                     json.dumps(values, default=str), (title or display(flow.name))[:300], tuple(steps), complete)
    data = dict(values, **{SEED_KEY: seed})
    for i in range(len(steps) + 1):
        if i:
            data = dict(data)
            data.update({key: v for key, v in steps[i - 1].data.items() if v is not None})
        tmpl.case_data.append(data)
        tmpl.case_json.append(json.dumps(data, default=str))
    return tmpl


# -- writing --------------------------------------------------------------------------------------
CASE_COLS = ("id", "definition_id", "sop_id", "flow", "state", "unit_id", "tracking_code", "title", "data", "period",
             "created_at", "updated_at", "due_at", "due_advisory", "closed_at", "paused_at", "pause_reason",
             "remaining_minutes", "escalate_at", "version")
HISTORY_COLS = ("case_id", "seq", "at", "user_id", "actor_name", "role", "unit_id", "activity", "action", "from_state",
                "to_state", "data", "due_at", "on_behalf_of", "worked_minutes")
NOTICE_COLS = ("case_id", "kind", "key", "payload", "created_at", "sent_at")
SEARCH_COLS = ("case_id", "anonymous", "body", "identity")
_TYPES: dict[str, Any] = {
    "data": Text, "payload": Text, "created_at": DateTime, "updated_at": DateTime, "due_at": DateTime,
    "closed_at": DateTime, "paused_at": DateTime, "escalate_at": DateTime, "at": DateTime, "sent_at": DateTime,
    "due_advisory": Boolean, "anonymous": Boolean, "id": Integer, "case_id": Integer, "seq": Integer,
    "version": Integer, "worked_minutes": Integer, "remaining_minutes": Integer, "user_id": Integer,
    "definition_id": Integer,
}
Row = tuple[Any, ...]


class _Writer:
    """Rows in, in bulk: Core executemany on SQLite (JSON as its text, times naive UTC, exactly as the
    models store them), COPY on PostgreSQL."""

    def __init__(self, session: Session):
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def write(self, name: str, cols: Sequence[str], rows: list[Row]) -> None:
        if not rows:
            return
        if self.postgres:
            raw = cast(Any, self.session.connection().connection).driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        target = table(name, *(column(c, _TYPES.get(c, Text)()) for c in cols))
        conn = self.session.connection()
        for start in range(0, len(rows), 5000):
            conn.execute(insert(target), [dict(zip(cols, r)) for r in rows[start:start + 5000]])



def _naive(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment is not None else None


# -- stamping one case ----------------------------------------------------------------------------
class _Clock:
    """A calendar's working minutes from a base moment as a table: entry ``i`` is what
    ``Calendar.add(base, i minutes)`` answers, so a case's steps are integer additions and the working
    minutes between two of its moments a subtraction, exactly as the calendar counts them.

    ``add`` depends only on the working time reached, so ``add(at(i), m) == at(i + m)``. The table is
    filled a block at a time: where ``add`` of a block's two ends lies exactly the block apart the
    minutes between run without a break; only blocks spanning a break or a closed day are filled
    minute by minute."""

    BLOCK = 15

    def __init__(self, cal: Calendar, start: dt.datetime, now: dt.datetime):
        self.cal = cal
        self.base = cal.add(start, Duration())
        self.now = now
        self.now_i = max(0, cal.working_minutes_between(self.base, now))
        self.aware: list[dt.datetime] = [self.base]
        self.naive: list[dt.datetime] = [_utc_naive(self.base)]
        self._after: dict[tuple[int, int, int], tuple[dt.datetime, dt.datetime]] = {}

    def at(self, i: int) -> dt.datetime:
        while len(self.aware) <= i:
            self._fill()
        return self.aware[i]

    def naive_at(self, i: int) -> dt.datetime:
        self.at(i)
        return self.naive[i]

    def _fill(self) -> None:
        n, block, minute = len(self.aware) - 1, self.BLOCK, dt.timedelta(minutes=1)
        a, b = self.aware[n], self.cal.add(self.base, Duration(minutes=n + block))
        if b - a == block * minute:
            new = [a + minute * j for j in range(1, block + 1)]
        else:
            new = [self.cal.add(self.base, Duration(minutes=n + j)) for j in range(1, block + 1)]
        self.aware.extend(new)
        self.naive.extend(_utc_naive(m) for m in new)

    def index(self, moment: dt.datetime) -> int:
        """The entry at or before ``moment`` (for a moment from another calendar's steps)."""
        return max(0, self.cal.working_minutes_between(self.base, moment))

    def after(self, i: int, limit: Duration) -> tuple[dt.datetime, dt.datetime]:
        """``Calendar.add(at(i), limit)`` (and its naive UTC): an index for minutes, the calendar
        (remembered) for days."""
        if not limit.days and i + limit.minutes <= self.now_i + 1:
            j = i + limit.minutes
            return self.at(j), self.naive[j]
        key = (i, limit.days, limit.minutes)
        found = self._after.get(key)
        if found is None:
            moment = self.cal.add(self.at(i), limit)
            found = self._after[key] = (moment, _utc_naive(moment))
        return found


def _utc_naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


class _Stamper:
    def __init__(self, people: _People, start: dt.datetime, now: dt.datetime, rng: random.Random):
        self.people = people
        self.start = start
        self.now = now
        self.rng = rng
        self._day_minutes: dict[int, int] = {}
        self._clocks: dict[int, _Clock] = {}
        self._persons: dict[tuple[str, str, str | None], _Person] = {}
        self._escalate: dict[tuple[str, str, str | None, dt.datetime], dt.datetime | None] = {}
        self._json: dict[tuple[int, str], str] = {}
        # Shares of a limit a step takes: log-normal, drawn once (a table look-up per step after).
        self._shares = [min(rng.lognormvariate(math.log(MEDIAN_SHARE), SPREAD), 3.0) for _ in range(1024)]

    def clock(self, cal: Calendar) -> _Clock:
        found = self._clocks.get(id(cal))
        if found is None:
            found = self._clocks[id(cal)] = _Clock(cal, self.start, self.now)
        return found

    def day_minutes(self, cal: Calendar) -> int:
        """A working day's minutes on ``cal`` (the mean over four weeks), to scale day limits."""
        key = id(cal)
        if key not in self._day_minutes:
            start = dt.datetime(2026, 1, 5, tzinfo=cal.zone)
            spent = cal.working_minutes_between(start, start + dt.timedelta(days=28))
            days = sum(1 for d in range(28) if cal.is_working_day((start + dt.timedelta(days=d)).date()))
            self._day_minutes[key] = max(1, spent // max(1, days))
        return self._day_minutes[key]

    def minutes(self, activity: Activity, cal: Calendar, fast: bool) -> int:
        limit = activity.time_limit
        span = NO_LIMIT_MINUTES if limit is None else \
            limit.duration.days * self.day_minutes(cal) + limit.duration.minutes
        share = 0.2 if fast else self._shares[self.rng.getrandbits(10)]
        return max(1, int(span * share))

    def case(self, t: _Template, case_id: int, position: float, code: str, *, fast: bool
             ) -> tuple[Row, list[Row], list[Row], Row | None]:
        """The case row, its history, its notices and its search row. ``position`` (0..1) places its
        opening in the window's working time; ``fast``: every step in a fifth of its limit (the
        oldest cases, which must reach their ends)."""
        sop, now, rng = t.sop, self.now, self.rng
        base = self.clock(sop.calendar)
        created_i = int(position * base.now_i)
        created = base.at(created_i)
        hist: list[Row] = [(case_id, 1, base.naive[created_i], t.starter.user_id, t.starter.name, t.starter_role, None,
                            None, None, None, t.flow.start, t.opening_json, None, None, None)]
        notices: list[Row] = []
        state, unit = t.flow.start, None
        ck = self.clock(sop.calendar_at(state, unit))
        entered_i = created_i if ck is base else ck.index(created)
        entered_n = base.naive[created_i]
        last: dt.datetime = created  # the case's latest entry, and its table index (None: not on ck's table)
        last_i: int | None = entered_i
        entered_seq = 1
        done = 0
        closed: dt.datetime | None = None
        paused: tuple[dt.datetime, str, int | None] | None = None
        dated: dict[str, str] = {}
        due, due_n, advisory, esc = self._due(sop, ck, state, unit, entered_i)
        for n in range(len(t.steps) + (0 if t.complete else 1)):
            activity = sop.activity(state)
            assert activity is not None  # the engine walked this path
            step = t.steps[n] if n < len(t.steps) else None  # None: the case waits here
            work = self.minutes(activity, ck.cal, fast) if step is not None else 0
            begin_i = entered_i
            if activity.pausable and rng.random() < (PAUSE_STEP if step is not None else PAUSE_WAITING):
                before = rng.randint(0, work - 1) if step is not None else \
                    rng.randint(0, max(0, min(ck.now_i - entered_i, 2000)))
                pause_i = entered_i + before
                if pause_i <= ck.now_i:
                    at = ck.at(pause_i)
                    last, last_i = self._escalation(hist, notices, case_id, activity, state, entered_seq, esc, due,
                                                    last, last_i, at, ck)
                    reason = activity.pause_reasons[rng.randrange(len(activity.pause_reasons))]
                    remaining = minutes_left(ck.cal, due, at)
                    who, who_unit, _ = self._who(t, activity.performers[0], unit, at)
                    hist.append((case_id, len(hist) + 1, ck.naive[pause_i], who.user_id, who.name,
                                 activity.performers[0], who_unit, state, PAUSED, state, state,
                                 json.dumps({PAUSE_REASON_KEY: reason.id, REMAINING_KEY: remaining}),
                                 due_n, None, self._worked(ck, last, last_i, at, pause_i)))
                    last, last_i = at, pause_i
                    back_i = pause_i + rng.randint(30, 3 * self.day_minutes(ck.cal))
                    if step is None or back_i > ck.now_i:
                        paused, esc = (at, reason.id, remaining), None
                        break
                    back = ck.at(back_i)
                    new_due = due_after_resume(ck.cal, remaining, back) if remaining is not None else None
                    hist.append((case_id, len(hist) + 1, ck.naive[back_i], who.user_id, who.name,
                                 activity.performers[0], who_unit, state, RESUMED, state, state,
                                 json.dumps({PAUSE_REASON_KEY: reason.id, REMAINING_KEY: remaining,
                                             "_paused_minutes": back_i - pause_i}), _naive(new_due), None, 0))
                    last, last_i = back, back_i
                    if remaining is not None:
                        due, due_n = new_due, _naive(new_due)
                        esc = deadlines.escalate_at(sop, state, due, advisory, unit)
                    work -= before
                    begin_i = back_i
            if step is None:
                break
            at_i = begin_i + work
            if at_i > ck.now_i:
                break  # not taken yet: the case waits here
            at = ck.at(at_i)
            last, last_i = self._escalation(hist, notices, case_id, activity, state, entered_seq, esc, due, last,
                                            last_i, at, ck)
            who, who_unit, window = self._who_step(t, step.role, step.scoped, unit, at)
            data_json = step.data_json
            if step.dates or window is not None:
                day = at.astimezone(ck.cal.zone).date().isoformat() if step.dates else ""
                key = (id(step), f"{window.kind if window else ''}:{day}")
                data_json = self._json.get(key) or ""
                if not data_json:
                    data = dict(step.data)
                    data.update({fid: day for fid in step.dates})
                    if window is not None:
                        data[ACTING_KEY] = window.kind
                    data_json = self._json[key] = json.dumps(data, default=str)
                dated.update({fid: day for fid in step.dates})
            hist.append((case_id, len(hist) + 1, ck.naive[at_i], who.user_id, who.name, step.role, who_unit,
                         state, step.action.id, state, step.target, data_json, due_n,
                         window.on_behalf_of[:200] if window is not None else None,
                         self._worked(ck, last, last_i, at, at_i)))
            done += 1
            last, last_i, entered_i, entered_n = at, at_i, at_i, ck.naive[at_i]
            entered_seq = len(hist)
            state, unit = step.target, step.unit
            if sop.is_end(state):
                closed = at
                due, due_n, advisory, esc = None, None, False, None
                break
            nxt = self.clock(sop.calendar_at(state, unit))
            if nxt is not ck:  # another calendar holds the next step: its own table from here
                ck = nxt
                entered_i = last_i = ck.index(at)
            due, due_n, advisory, esc = self._due(sop, ck, state, unit, entered_i)
        if closed is None and paused is None:  # waiting now: the daily tick has recorded a passed escalation
            activity = sop.activity(state)
            if activity is not None:
                self._escalation(hist, notices, case_id, activity, state, entered_seq, esc, due, last, last_i,
                                 now, ck, inclusive=True)
        data_json = t.case_json[done]
        if dated:
            data_json = json.dumps(dict(t.case_data[done], **dated), default=str)
        row: Row = (case_id, t.definition_id, sop.id, t.flow.id, state, unit, code, t.title, data_json, None,
                    base.naive[created_i], entered_n, due_n, advisory, _naive(closed),
                    _naive(paused[0]) if paused else None, paused[1] if paused else None,
                    paused[2] if paused else None, _naive(esc), len(hist))
        search = t.search[done] if t.search else None
        return row, hist, notices, ((case_id, *search) if search is not None else None)

    @staticmethod
    def _worked(ck: _Clock, last: dt.datetime, last_i: int | None, at: dt.datetime, at_i: int) -> int:
        """Working minutes since the entry before (what ``cases._worked_minutes`` stores)."""
        return at_i - last_i if last_i is not None else max(0, ck.cal.working_minutes_between(last, at))

    def _due(self, sop: Sop, ck: _Clock, state: str, unit: str | None, entered_i: int
             ) -> tuple[dt.datetime | None, dt.datetime | None, bool, dt.datetime | None]:
        """As ``Engine.due`` and ``deadlines.escalate_at`` compute them when a step is entered: the
        due time (aware, and naive UTC for the rows), whether it is advisory, the escalation moment."""
        activity = sop.activity(state)
        if activity is None or activity.time_limit is None:
            return None, None, False, None
        due, due_n = ck.after(entered_i, activity.time_limit.duration)
        advisory = activity.time_limit.advisory
        if activity.escalation is None or advisory:
            return due, due_n, advisory, None
        key = (sop.id, state, unit, due)
        if key not in self._escalate:
            self._escalate[key] = deadlines.escalate_at(sop, state, due, advisory, unit)
        return due, due_n, advisory, self._escalate[key]

    def _person(self, sop: Sop, role: str, unit: str | None) -> _Person:
        key = (sop.id, role, unit)
        found = self._persons.get(key)
        if found is None:
            found = self._persons[key] = self.people.person(sop, role, unit)
        return found

    def _who(self, t: _Template, role: str, unit: str | None, at: dt.datetime
             ) -> tuple[_Person, str | None, _Window | None]:
        r = t.sop.role(role)
        return self._who_step(t, role, r is not None and r.unit_scoped, unit, at)

    def _who_step(self, t: _Template, role: str, scoped: bool, unit: str | None, at: dt.datetime
                  ) -> tuple[_Person, str | None, _Window | None]:
        """Who takes a step at ``at``: the delegate while a delegation of the role runs, else its
        holder; and the unit the history row names (``cases._apply``: the delegation's, or theirs)."""
        where = unit if scoped else None
        window = self.people.acting(role, where, at)
        if window is not None:
            return window.delegate, window.unit or window.delegate.unit, window
        person = self._person(t.sop, role, where)
        return person, person.unit, None

    @staticmethod
    def _escalation(hist: list[Row], notices: list[Row], case_id: int, activity: Activity, state: str,
                    entered_seq: int, esc: dt.datetime | None, due: dt.datetime | None, last: dt.datetime,
                    last_i: int | None, before: dt.datetime, ck: _Clock, *, inclusive: bool = False
                    ) -> tuple[dt.datetime, int | None]:
        """The ``__escalated`` entry and notice ``sop tick`` writes, when the step escalated before
        ``before`` (at ``before`` too with ``inclusive``); returns the case's latest entry."""
        if esc is None or activity.escalation is None or esc < last or (esc > before if inclusive else esc >= before):
            return last, last_i
        if any(r[8] == ESCALATED for r in hist[entered_seq:]):
            return last, last_i  # once per stay, as the notice's unique key has it
        key = escalation_key(state, entered_seq)
        roles = list(activity.escalation.roles)
        hist.append((case_id, len(hist) + 1, _naive(esc), None, SYSTEM, "", None, state, ESCALATED, state, state,
                     json.dumps({ESCALATE_TO_KEY: roles, "_notice_key": key}), _naive(due), None,
                     max(0, ck.cal.working_minutes_between(last, esc))))
        # Marked delivered: a demo must not fill a mail queue with months-old notices.
        notices.append((case_id, ESCALATION_KIND, key, json.dumps({
            "state": state, "step": activity.no, "roles": roles, "due_at": due.isoformat() if due else None,
            "escalate_at": esc.isoformat()}), _naive(esc), _naive(esc)))
        return esc, None


# -- the whole run --------------------------------------------------------------------------------
def _months_back(now: dt.datetime, zone: Any, months: int) -> dt.datetime:
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    return dt.datetime(year, month + 1, min(local.day, 28), tzinfo=zone)


def _periods(start: dt.datetime, now: dt.datetime, zone: Any) -> list[str]:
    """The months from ``start``'s to the one before ``now``'s (local), oldest first."""
    a, b = start.astimezone(zone), now.astimezone(zone)
    out = []
    index = a.year * 12 + a.month - 1
    while index < b.year * 12 + b.month - 1:
        out.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
        index += 1
    return out


def _already_seeded(session: Session) -> bool:
    return session.scalar(select(Case.id).where(Case.data[SEED_KEY].as_string().is_not(None)).limit(1)) is not None


def seed_demo(session: Session, registry: Registry, *, months: int = 6, cases: int = 600, seed: int = 1,
              force: bool = False, now: dt.datetime | None = None) -> SeedReport:
    """Fill the database with ``cases`` demo cases over the last ``months`` months (see the module's
    doc). Needs units and accounts (``demo.seed``); the caller commits. Writes nothing when seeded
    cases are there already, unless ``force``."""
    started = time.perf_counter()
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"--months must be between 1 and {MAX_MONTHS}, not {months}")
    if not 0 <= cases <= MAX_CASES:
        raise InvalidInput(f"--cases must be between 0 and {MAX_CASES:,}, not {cases}")
    now = (now or utcnow()).astimezone(dt.timezone.utc)
    if not force and _already_seeded(session):
        return SeedReport(0, 0, 0, 0, 0, time.perf_counter() - started, skipped=True)
    rng = random.Random(seed)
    sops = list(current_sops(session, registry, now).values())
    units_map = unit_names(session)
    units = sorted(units_map)
    people = _People(session)
    flows = [(sop, f) for sop in sops for f in sop.case_flows if f.started_by]
    if not units and any(a.assign_unit for sop, _ in flows for act in sop.activities for a in act.actions):
        raise InvalidInput("no units (OPD) yet: run `sop demo` (or `sop unit add`) first")
    scheduled = _scheduled_cases(session, registry, sops, people, months, now, rng, units)
    delegations = _delegations(session, sops, people, months, now)
    session.flush()
    templates = _templates(session, registry, flows, people, units, units_map, now, seed)
    written = _bulk(session, templates, people, months, cases, now, rng, seed) if cases else (0, 0, 0)
    report = SeedReport(written[0], written[1], written[2], delegations, scheduled, time.perf_counter() - started)
    event(log, "seed.done", cases=report.cases, history=report.history, notices=report.notices,
          delegations=delegations, scheduled=scheduled, seconds=round(report.seconds, 2))
    return report


def _templates(session: Session, registry: Registry, flows: list[tuple[Sop, Flow]], people: _People,
               units: Sequence[str], units_map: dict[str, str], now: dt.datetime, seed: int
               ) -> list[tuple[list[list[_Template]], list[list[_Template]]]]:
    """Per case flow: for each way to an end and each waiting place, its variants."""
    try:
        from . import search_index
    except ImportError:  # pragma: no cover - the search feature is optional here
        search_index = None  # type: ignore[assignment]
    out = []
    for sop, flow in flows:
        engine = registry.engine(sop)
        definition_id = current_row(session, sop).id
        plan_ = search_index.plan_of(sop) if search_index is not None and _has_search(session) else None
        full = flow_paths(sop, flow)
        waits = _plan(sop, flow)[len(full):]
        groups: tuple[list[list[_Template]], list[list[_Template]]] = ([], [])
        for complete, paths, into in ((True, full, groups[0]), (False, waits, groups[1])):
            for path in paths:
                variants = []
                for k in range(VARIANTS):
                    try:
                        tmpl = _derive(sop, engine, flow, path, k, definition_id, people, units, units_map, now,
                                       complete, seed)
                    except (InvalidForm, NotAllowed) as exc:  # e.g. a required file field: not seeded
                        event(log, "seed.path_skipped", logging.WARNING, sop=sop.id, flow=flow.id,
                              path=",".join(path) or "-", reason=type(exc).__name__)
                        break
                    if plan_ is not None and search_index is not None:
                        tmpl.search = [(d.anonymous, d.body, d.identity) for d in
                                       (search_index.document(plan_, flow.id, tmpl.title, data)
                                        for data in tmpl.case_data)]
                    variants.append(tmpl)
                if variants:
                    into.append(variants)
        out.append(groups)
    return out


def _has_search(session: Session) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(session.connection()).has_table("case_search"))


def _bulk(session: Session, templates: list[tuple[list[list[_Template]], list[list[_Template]]]], people: _People,
          months: int, total: int, now: dt.datetime, rng: random.Random, seed: int) -> tuple[int, int, int]:
    writer = _Writer(session)
    flows = [g for g in templates if g[0] or g[1]]
    if not flows:
        return 0, 0, 0
    if writer.postgres:  # ids from max(id): nobody else may insert a case meanwhile
        session.execute(text("LOCK TABLE cases IN EXCLUSIVE MODE"))
    next_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
    rebuilt = _set_aside(session) if writer.postgres and total >= LARGE else []
    first_id = next_id
    # Equal shares per SOP; within an SOP the first flow most, later ones (follow-ups) less.
    by_sop: dict[str, list[int]] = {}
    for i, g in enumerate(flows):
        sample = (g[0] or g[1])[0][0]
        by_sop.setdefault(sample.sop.id, []).append(i)
    weights = [0.0] * len(flows)
    for members in by_sop.values():
        for rank, i in enumerate(members):
            weights[i] = 1 / len(by_sop) * (1 / (rank + 1)) / sum(1 / (r + 1) for r in range(len(members)))
    cumulative = list(itertools.accumulate(weights))
    # Coverage first (the oldest cases): every way to an end once, every waiting place once, per flow.
    coverage: list[tuple[int, bool, int]] = []
    longest = max(len(g[0]) + len(g[1]) for g in flows)
    for n in range(longest):
        for i, g in enumerate(flows):
            if n < len(g[0]):
                coverage.append((i, False, n))
            elif n - len(g[0]) < len(g[1]):
                coverage.append((i, True, n - len(g[0])))
    sample = (flows[0][0] or flows[0][1])[0][0]
    start = _months_back(now, sample.sop.calendar.zone, months)
    offsets = sorted(rng.random() for _ in range(total))
    stamper = _Stamper(people, start, now, rng)
    code_rng = random.Random(f"{seed}:{first_id}")
    counts = [0, 0, 0]
    for batch_start in range(0, total, BATCH):
        case_rows: list[Row] = []
        history_rows: list[Row] = []
        notice_rows: list[Row] = []
        search_rows: list[Row] = []
        for n in range(batch_start, min(total, batch_start + BATCH)):
            fast = False
            if n < len(coverage):
                fi, stuck, pi = coverage[n]
                fast = not stuck
                position = offsets[n] * 0.25  # in the oldest quarter: there is time to finish
            else:
                fi = min(bisect.bisect(cumulative, rng.random() * cumulative[-1]), len(flows) - 1)
                full, waits = flows[fi]
                stuck = bool(waits) and (not full or rng.random() < STUCK_SHARE)
                choices = waits if stuck else full
                pi = 0 if not stuck and rng.random() < 0.6 else rng.randrange(len(choices))
                position = offsets[n]
            variants = flows[fi][1 if stuck else 0][pi]
            tmpl = variants[rng.randrange(len(variants))]
            bits = code_rng.getrandbits(60)  # 12 characters of a 32-letter alphabet, as cases.new_tracking_code
            code = "".join(_CODE_ALPHABET[(bits >> shift) & 31] for shift in range(0, 60, 5))
            row, hist, notices, search = stamper.case(tmpl, next_id, position, f"{code[:4]}-{code[4:8]}-{code[8:]}",
                                                      fast=fast)
            next_id += 1
            case_rows.append(row)
            history_rows.extend(hist)
            notice_rows.extend(notices)
            if search is not None:
                search_rows.append(search)
        writer.write("cases", CASE_COLS, case_rows)
        writer.write("history", HISTORY_COLS, history_rows)
        writer.write("notices", NOTICE_COLS, notice_rows)
        writer.write("case_search", SEARCH_COLS, search_rows)
        counts[0] += len(case_rows)
        counts[1] += len(history_rows)
        counts[2] += len(notice_rows)
    if writer.postgres:
        session.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    if rebuilt:  # for this transaction only: building the text indexes in memory, not in runs on disk
        session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for definition in rebuilt:
        session.execute(text(definition))
    return counts[0], counts[1], counts[2]


def _set_aside(session: Session) -> list[str]:
    """For a large load on PostgreSQL: drop the full-text (GIN) indexes of the search table and the
    foreign keys of the tables written, and return the statements that make them again, exactly as
    they were (read from the catalogue). Building a GIN index over a million rows at the end takes a
    minute where updating it row by row takes most of an hour, and adding a foreign key back checks
    every row in one join instead of one lookup per row. All inside the seeding transaction: a
    failed load leaves everything as it was, and the re-added keys still check every row."""
    again: list[str] = []
    for name, definition in session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'case_search' AND indexdef ILIKE '%USING gin%'")).all():
        session.execute(text(f'DROP INDEX "{name}"'))
        again.append(definition)
    for table_name, name, definition in session.execute(text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.conrelid::regclass::text IN ('cases', 'history', 'notices', 'case_search') "
            "ORDER BY 1, 2")).all():
        session.execute(text(f'ALTER TABLE {table_name} DROP CONSTRAINT "{name}"'))
        again.append(f'ALTER TABLE {table_name} ADD CONSTRAINT "{name}" {definition}')
    return again


# -- delegations and the monthly cases, through the services' own rows ------------------------------
def _delegations(session: Session, sops: list[Sop], people: _People, months: int, now: dt.datetime) -> int:
    """A few working days each month when each role that performs a step is held by a stand-in
    (alternately Plt and Plh), all in the past: the demo's live accounts keep their own roles. A
    forced second run reuses the delegations of the first (they may not overlap)."""
    by_id = {u.id: u for u in people.users}
    earlier = list(session.scalars(select(Delegation).where(Delegation.created_by == SEEDED_BY,
                                                            Delegation.revoked_at.is_(None))))
    for d in earlier:
        delegate, holder = by_id.get(d.delegate_id), by_id.get(d.holder_id) if d.holder_id else None
        if delegate is not None:
            people.windows.setdefault((d.role, d.unit_id), []).append(_Window(
                d.starts_at, d.ends_at, d.kind, _Person(delegate.id, delegate.full_name or delegate.username,
                                                        delegate.unit_id),
                (holder.full_name or holder.username) if holder is not None else d.role, d.unit_id))
    if earlier:
        return 0
    made = 0
    pair = 0
    for sop in sops:
        performing = {r for a in sop.activities for r in a.performers}
        zone = sop.calendar.zone
        for role in sop.roles:
            if role.external or role.id not in performing or any(key[0] == role.id for key in people.windows):
                continue
            for unit in (sorted({u.unit_id for u in people.users if u.unit_id}) if role.unit_scoped else [None]):
                holder = people.holder(role.id, unit, role.unit_scoped)
                if holder is None:
                    continue
                delegate = people.delegate_for(sop, role.id, unit, role.unit_scoped, holder, pair)
                if delegate is None:
                    continue
                windows = people.windows.setdefault((role.id, unit), [])
                for back in range(months, 0, -1):
                    first = _months_back(now, zone, back).replace(day=1, hour=0)
                    starts = (first + dt.timedelta(days=2 + (pair * 5) % 18)).astimezone(dt.timezone.utc)
                    ends = starts + dt.timedelta(days=2)
                    if ends >= now:
                        continue
                    kind = "plt" if (pair + back) % 2 else "plh"
                    session.add(Delegation(
                        kind=kind, role=role.id, unit_id=unit, holder_id=holder.id, delegate_id=delegate.id,
                        starts_at=starts, ends_at=ends, reason="Cuti (data demo)", created_by=SEEDED_BY,
                        created_at=starts - dt.timedelta(days=1), revoked_at=None))
                    windows.append(_Window(starts, ends, kind, _Person(delegate.id, delegate.full_name or
                                                                       delegate.username, delegate.unit_id),
                                           holder.full_name or holder.username, unit))
                    made += 1
                pair += 1
    return made


def _scheduled_cases(session: Session, registry: Registry, sops: list[Sop], people: _People, months: int,
                     now: dt.datetime, rng: random.Random, units: Sequence[str]) -> int:
    """Each past month's case of every scheduled flow, opened as ``schedule.tick`` opens it and, but for
    the month just ended, worked to its end through ``perform_step`` by the step's account."""
    opened = 0
    for sop in sops:
        cal = sop.calendar
        for flow in sop.scheduled_flows:
            periods = _periods(_months_back(now, cal.zone, months), now, cal.zone)
            paths = flow_paths(sop, flow)
            for period in periods:
                if session.scalar(select(Case.id).where(Case.sop_id == sop.id, Case.flow == flow.id,
                                                        Case.period == period)) is not None:
                    continue
                year, month = (int(p) for p in period.split("-"))
                nxt = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=cal.zone)
                moment = min(cal.add(nxt, Duration()), now)
                with session.begin_nested():
                    case = start_case(session, registry, sop.id, flow.id, {}, actor=None, now=moment, period=period)
                opened += 1
                if period == periods[-1] or not paths:
                    continue  # the month just ended: its recap waits for Admin to compile it
                _walk(session, registry, sop, case, paths[0], people, moment, now, rng, units)
    return opened


def _walk(session: Session, registry: Registry, sop: Sop, case: Case, path: tuple[str, ...], people: _People,
          moment: dt.datetime, now: dt.datetime, rng: random.Random, units: Sequence[str]) -> None:
    for k, action_id in enumerate(path):
        activity = sop.activity(case.state)
        action = activity.action(action_id) if activity is not None else None
        if activity is None or action is None:
            return
        performer = activity.performers[0]
        role = sop.role(performer)
        user = people.holder(performer, case.unit_id, role is not None and role.unit_scoped)
        if user is None:
            return  # nobody performs it: the case waits here
        cal = sop.calendar_at(case.state, case.unit_id)
        limit = activity.time_limit
        span = NO_LIMIT_MINUTES if limit is None else limit.duration.days * 450 + limit.duration.minutes
        moment = cal.add(moment, Duration(minutes=max(1, int(span * rng.uniform(0.1, 0.8)))))
        if moment > now:
            return
        needed = set(action.requires) | ({action.assign_unit} if action.assign_unit else set())
        raw = _form(activity.fields_of(action), needed, k, moment.astimezone(cal.zone).date(), units)
        try:
            case = perform_step(session, registry, case.id, actor_for(user, moment), action.id, raw,
                                expected_version=None, now=moment)
        except SopError as exc:  # a definition whose form the examples cannot fill: it waits there
            event(log, "seed.walk_stopped", logging.WARNING, case=case.id, reason=type(exc).__name__)
            return

