"""Deadline states (runner/deadlines.py): the pure rule at its boundaries, the inbox column and
filter, and the case page's time-against-limit figures."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from conftest import LAPOR, REPORT
from runner import deadlines, services
from runner.deadlines import DeadlineState as S
from runner.definition import load_file, load_text
from runner.definition.model import DueSoon
from runner.durations import Duration
from runner.engine import Actor
from runner.errors import DefinitionError, NotFound
from runner.store import Case, transaction
from web_helpers import STEPS, Visitor, advance

WIB = ZoneInfo("Asia/Pontianak")
SOP = load_file(LAPOR)
CAL = SOP.calendar
MONDAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=WIB)


# -- the rule --------------------------------------------------------------------------------------
def state(now, due, *, soon=deadlines.DEFAULT_DUE_SOON, started=None, advisory=False, paused=False, closed=False):
    return deadlines.state_of(now=now, due_at=due, advisory=advisory, calendar=CAL, soon=soon, started=started,
                              paused=paused, closed=closed)


def test_boundaries_of_a_span_threshold():
    due = CAL.add(MONDAY, Duration(minutes=180))  # 13:00 + 1 h = 14:00 (lunch 12-13 does not count)
    one_hour = DueSoon("1 jam", duration=Duration(minutes=60))
    assert state(MONDAY, due, soon=one_hour) is S.ON_TIME
    assert state(due - dt.timedelta(minutes=121), due, soon=one_hour) is S.ON_TIME  # 11:59: 61 min left
    assert state(due - dt.timedelta(minutes=120), due, soon=one_hour) is S.DUE_SOON  # 12:00: lunch, then 60
    assert state(due - dt.timedelta(minutes=60), due, soon=one_hour) is S.DUE_SOON
    assert state(due, due, soon=one_hour) is S.DUE_SOON  # at the due time: not yet late
    assert state(due + dt.timedelta(microseconds=1), due, soon=one_hour) is S.OVERDUE
    # the lunch break does not count: at 11:30 with the step due at 13:30, 30 working minutes are left
    lunch_due = dt.datetime(2026, 11, 30, 13, 30, tzinfo=WIB)
    assert state(dt.datetime(2026, 11, 30, 11, 30, tzinfo=WIB), lunch_due, soon=one_hour) is S.DUE_SOON
    assert state(dt.datetime(2026, 11, 30, 10, 29, tzinfo=WIB), lunch_due, soon=one_hour) is S.ON_TIME


def test_a_share_is_of_the_working_time_the_step_was_given():
    started = MONDAY
    due = CAL.add(started, Duration(minutes=240))  # "4 Jam": Monday 15:00
    quarter = DueSoon("25%", fraction=0.25)  # the last working hour
    assert state(dt.datetime(2026, 11, 30, 13, 59, tzinfo=WIB), due, soon=quarter, started=started) is S.ON_TIME
    assert state(dt.datetime(2026, 11, 30, 14, 0, tzinfo=WIB), due, soon=quarter, started=started) is S.DUE_SOON


def test_a_span_in_days_counts_working_days():
    friday = dt.datetime(2026, 12, 4, 15, 0, tzinfo=WIB)
    due = CAL.add(friday, Duration(days=1))  # Monday 7 December 15:00
    one_day = DueSoon("1 hari", duration=Duration(days=1))
    assert state(friday, due, soon=one_day) is S.DUE_SOON  # the weekend is not counted
    assert state(friday - dt.timedelta(hours=1), due, soon=one_day) is S.ON_TIME


def test_advisory_paused_and_closed_are_never_overdue():
    long_ago = MONDAY - dt.timedelta(days=3 * 365)
    assert state(MONDAY, long_ago, advisory=True) is S.ADVISORY
    assert state(MONDAY, long_ago, paused=True) is S.PAUSED
    assert state(MONDAY, long_ago, closed=True) is S.NONE
    assert state(MONDAY, None) is S.NONE


moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31),
                       timezones=st.just(WIB))
spans = st.builds(lambda d, m: DueSoon("x", duration=Duration(d, m)), st.integers(0, 5), st.integers(0, 900))
shares = st.builds(lambda p: DueSoon("x", fraction=p / 100), st.integers(0, 100))


@settings(max_examples=300, deadline=None)
@given(now=moments, due=moments, started=moments, soon=st.one_of(spans, shares))
def test_the_state_agrees_with_the_working_time_left(now, due, started, soon):
    got = state(now, due, soon=soon, started=started)
    if due < now:
        assert got is S.OVERDUE
        return
    left = CAL.working_minutes_between(now, due)
    assert got in (S.ON_TIME, S.DUE_SOON)
    assert (got is S.DUE_SOON) == (left <= deadlines.threshold_minutes(soon, CAL, now, due, started))


@settings(max_examples=200, deadline=None)
@given(now=moments, due=moments, small=st.integers(0, 600), extra=st.integers(0, 600))
def test_a_wider_threshold_never_makes_a_step_less_urgent(now, due, small, extra):
    narrow = state(now, due, soon=DueSoon("a", duration=Duration(minutes=small)))
    wide = state(now, due, soon=DueSoon("b", duration=Duration(minutes=small + extra)))
    if narrow is S.DUE_SOON:
        assert wide is S.DUE_SOON
    if wide is S.ON_TIME:
        assert narrow is S.ON_TIME


@settings(max_examples=200, deadline=None)
@given(now=moments, due=moments, soon=st.one_of(spans, shares))
def test_the_list_horizon_never_hides_a_due_soon_step(now, due, soon):
    """Lists classify one by one only the cases due before ``soon_horizon``: none after it is due soon."""
    sop = SOP.__class__(**{**{f: getattr(SOP, f) for f in ("id", "title", "identity", "calendar", "roles", "flows",
                                                             "activities", "version")}, "due_soon": soon})
    for activity in sop.activities:
        if activity.time_limit is None:
            continue
        started = now - dt.timedelta(minutes=5)
        due_at = CAL.add(started, activity.time_limit.duration)
        if due_at > deadlines.soon_horizon(sop, now):
            got = deadlines.state_of(now=now, due_at=due_at, advisory=False, calendar=CAL,
                                     soon=deadlines.due_soon_rule(sop, activity), started=started)
            assert got is not S.DUE_SOON, activity.id


# -- the definition keys ---------------------------------------------------------------------------
def _lapor_with(old: str, new: str):
    text = LAPOR.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_due_soon_keys_are_read_and_checked():
    sop = load_text(_lapor_with("\nroles:\n", "\ndue_soon: 2 jam\nroles:\n"), "x.yaml")
    assert deadlines.due_soon_rule(sop, sop.activity("input_laporan")).duration == Duration(minutes=120)
    assert deadlines.due_soon_rule(sop, sop.activity("kirim_jawaban_opd")).duration == Duration(minutes=60)
    assert deadlines.due_soon_rule(SOP, SOP.activity("input_laporan")) == deadlines.DEFAULT_DUE_SOON
    with pytest.raises(DefinitionError) as exc:
        load_text(_lapor_with("\nroles:\n", "\ndue_soon: 150%\nroles:\n"), "x.yaml")
    assert "due_soon: '150%' is not a share of the time limit between 0% and 100%" in str(exc.value)
    with pytest.raises(DefinitionError) as exc:
        load_text(_lapor_with("    due_soon: 1 jam ", "    due_soon: sebentar "), "x.yaml")
    assert "cannot read time limit 'sebentar'" in str(exc.value)


# -- the inbox ------------------------------------------------------------------------------------
def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _case_at_step(factory, registry, actor, upto: int) -> int:
    with transaction(factory) as s:
        case = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=Actor.public("pelapor"))
        case_id = case.id
    advance(factory, registry, actor, case_id, upto)
    return case_id


def _set(factory, case_id, **values):
    with transaction(factory) as s:
        s.execute(update(Case).where(Case.id == case_id).values(**values))


@pytest.fixture
def deadline_cases(factory, registry, seeded, actor):
    """Five cases waiting at step 2 for Admin Utama, one in each state (due times relative to now)."""
    now = _now()
    ids = {}
    for name in ("overdue", "due_soon", "on_time", "paused", "ancient"):
        ids[name] = _case_at_step(factory, registry, actor, 2)
    _set(factory, ids["overdue"], due_at=now - dt.timedelta(minutes=5))
    _set(factory, ids["ancient"], due_at=now - dt.timedelta(days=3 * 365))
    # due in one working minute (default threshold: a quarter of 7,5 jam)
    _set(factory, ids["due_soon"], due_at=CAL.add(now, Duration(minutes=1)), updated_at=now - dt.timedelta(days=2))
    _set(factory, ids["on_time"], due_at=CAL.add(now, Duration(days=5)), updated_at=now)
    _set(factory, ids["paused"], due_at=now - dt.timedelta(days=30), paused_at=now - dt.timedelta(days=1))
    return ids


def _deadline_cells(html: str) -> dict[int, str]:
    rows = re.findall(r'<tr[^>]*data-case="(\d+)".*?data-deadline="(\w+)"', html, re.S)
    return {int(i): s for i, s in rows}


def test_inbox_shows_the_state_and_filters_by_it(app, deadline_cases):
    ids = deadline_cases
    v = Visitor(app)
    v.login("admin_utama")
    html = v.get("/kotak-masuk").get_data(as_text=True)
    cells = _deadline_cells(html)
    assert {cells[ids[k]] for k in ("overdue", "ancient")} == {"overdue"}
    assert (cells[ids["due_soon"]], cells[ids["on_time"]], cells[ids["paused"]]) == ("due_soon", "on_time", "paused")
    counts = dict(re.findall(r'data-deadline-filter="(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>', html))
    assert counts == {"overdue": "2", "due_soon": "1", "on_time": "1", "advisory": "0", "paused": "1"}

    def listed(query):
        r = v.get(f"/kotak-masuk?tenggat={query}")
        assert r.status_code == 200
        return set(_deadline_cells(r.get_data(as_text=True)))

    assert listed("overdue") == {ids["overdue"], ids["ancient"]}
    assert listed("due_soon") == {ids["due_soon"]}
    assert listed("on_time") == {ids["on_time"]}
    assert listed("paused") == {ids["paused"]}
    assert listed("advisory") == set()
    assert "Tidak ada kasus menunggu Anda dalam keadaan ini." in v.get("/kotak-masuk?tenggat=advisory").get_data(
        as_text=True)
    assert v.get("/kotak-masuk?tenggat=terlambat'--").status_code == 404  # a clear 404, never a 500


def test_the_filter_parser():
    assert services.deadline_filter_of(None) is None and services.deadline_filter_of("") is None
    assert services.deadline_filter_of("due_soon") is S.DUE_SOON
    with pytest.raises(NotFound):
        services.deadline_filter_of("none")  # "no limit" is not a filter people are offered


def test_the_counts_service_matches_the_rows(factory, registry, deadline_cases, actor):
    admin = actor("admin_utama")
    with factory() as s:
        rows = services.waiting(s, registry, admin)
        counts = services.waiting_counts(s, registry, admin)
    by_state: dict[S, int] = {}
    for r in rows:
        by_state[r.deadline] = by_state.get(r.deadline, 0) + 1
    assert {k: n for k, n in counts.items() if n} == by_state


# -- the case page ---------------------------------------------------------------------------------
def test_case_page_shows_each_step_against_its_limit(factory, registry, seeded, actor):
    with transaction(factory) as s:
        case_id = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=Actor.public("pelapor"),
                                      now=MONDAY).id
    takes = [(1, 30), (2, 600), (3, 20)]  # step 2 took 10 h of wall time from 10:30: lunch and night excluded
    now = MONDAY
    for (no, minutes), (_, user, action, fields) in zip(takes, STEPS):
        now += dt.timedelta(minutes=minutes)
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(user), action, fields, expected_version=None, now=now)
    with factory() as s:
        view = services.case_view(s, registry, case_id, actor("admin_utama"), now=now)
    times = {h.seq: view.step_times.get(h.seq) for h in view.history}
    assert times[1] is None  # the opening entry is no step
    # step 1: 30 min of 7,5 jam; step 2: Monday 10:30 -> 20:30 = 10:30-12:00 + 13:00-16:00 = 270 min
    assert (times[2].worked_minutes, times[2].limit_minutes, times[2].within) == (30, 450, True)
    assert (times[3].worked_minutes, times[3].limit_minutes) == (270, 450)
    # step 3 from 20:30 to 20:50: the office is closed, no working time passed; limit 1 jam
    assert (times[4].worked_minutes, times[4].limit_minutes, times[4].within) == (0, 60, True)
    assert (view.time_total.worked_minutes, view.time_total.limit_minutes) == (300, 960)


def test_case_page_shows_time_against_limit(app, factory, registry, seeded, actor):
    case_id = _case_at_step(factory, registry, actor, 3)
    v = Visitor(app)
    v.login("admin_utama")
    html = v.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert html.count('data-testid="step-time"') == 2  # steps 1 and 2 were taken
    assert re.search(r'data-testid="step-time">[^<]*7 (working hours|jam kerja)', html), html
    assert 'data-testid="time-total"' in html
    assert 'data-testid="case-deadline"' in html


def test_step_times_leave_out_the_time_on_hold():
    """A pause and a resumption (services.pauses) keep the same step going; the stretch on hold does
    not count, and an escalation entry in between neither restarts the step nor adds time."""
    from runner.services.step_times import step_times
    from runner.store import HistoryEntry

    def entry(seq, at, activity=None, action=None, worked=None):
        return HistoryEntry(case_id=1, seq=seq, at=at, actor_name="x", role="", to_state="s", data={},
                            activity=activity, action=action, worked_minutes=worked)

    t0 = MONDAY  # step 1 ("7,5 jam") opens Monday 10:00
    rows = [entry(1, t0),
            entry(2, t0 + dt.timedelta(minutes=30), "input_laporan", "__paused"),  # 30 min worked
            entry(3, t0 + dt.timedelta(days=1), "input_laporan", "__resumed"),  # a day on hold: 0
            entry(4, t0 + dt.timedelta(days=1, minutes=20), "input_laporan", "__escalated"),  # 20 min
            entry(5, t0 + dt.timedelta(days=1, minutes=45), "input_laporan", "simpan")]  # 25 min
    per_step, total = step_times(SOP, rows)
    assert list(per_step) == [5]
    assert (per_step[5].worked_minutes, per_step[5].limit_minutes, per_step[5].within) == (75, 450, True)
    assert (total.worked_minutes, total.limit_minutes) == (75, 450)
