"""`sop seed-demo`: months of demo cases written in bulk, which every service must read as its own."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from conftest import DEFINITIONS
from runner import services
from runner.cli import main
from runner.deadlines import DeadlineState
from runner.errors import InvalidInput
from runner.services import recap
from runner.services.cases import ESCALATED, PAUSED, RESUMED
from runner.services.publishing import current_sops
from runner.services.seed_demo import SEED_KEY, seed_demo
from runner.store import Case, Delegation, HistoryEntry, Notice, User, make_engine, session_factory, transaction

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)  # Monday 15:00 in Pontianak
CASES = 400


@pytest.fixture
def seeded_demo(factory, registry, seeded):
    with transaction(factory) as s:
        services.tick(s, registry, now=NOW)
        report = seed_demo(s, registry, months=4, cases=CASES, now=NOW)
    return report


def _actor(session, username):
    return services.actor_for(session.scalar(select(User).where(User.username == username)), NOW)


def test_seeded_data_tells_one_consistent_story(factory, registry, seeded_demo):
    assert seeded_demo.cases == CASES and seeded_demo.history > 4 * CASES and not seeded_demo.skipped
    with factory() as s:
        assert services.check_database(s, registry) == []
        assert s.scalar(select(func.count()).select_from(Case).where(Case.data[SEED_KEY].as_string().is_not(None))) \
            == CASES
        codes = list(s.scalars(select(Case.tracking_code).where(Case.period.is_(None))))
        assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", c) for c in codes)
        # every step taken in working hours, on the SOP's calendar; nothing after "now"
        for sop in current_sops(s, registry, NOW).values():
            ats = s.scalars(select(HistoryEntry.at).join(Case, Case.id == HistoryEntry.case_id)
                            .where(Case.sop_id == sop.id, Case.data[SEED_KEY].as_string().is_not(None),
                                   HistoryEntry.action.not_like("\\_\\_%", escape="\\")))
            for at in ats:
                assert at <= NOW
                local = at.astimezone(sop.calendar.zone)
                spans = sop.calendar.intervals_on(local.date())
                assert any(iv.start <= local.time() <= iv.end for iv in spans), (sop.id, local)


def test_every_activity_waits_and_every_end_is_reached(factory, registry, seeded_demo):
    with factory() as s:
        open_states = {(sop_id, state) for sop_id, state in
                       s.execute(select(Case.sop_id, Case.state).where(Case.closed_at.is_(None)))}
        closed_states = {(sop_id, state) for sop_id, state in
                         s.execute(select(Case.sop_id, Case.state).where(Case.closed_at.is_not(None)))}
        for sop in current_sops(s, registry, NOW).values():
            for flow in sop.case_flows:
                for activity in (a for a in sop.activities if a.flow == flow.id):
                    assert (sop.id, activity.id) in open_states, (sop.id, activity.id)
                for end in flow.ends:
                    assert (sop.id, end.id) in closed_states, (sop.id, end.id)
        # ... and the inbox of a performer lists them (unit-scoped roles: some unit's account)
        waiting_at = set()
        for user in s.scalars(select(User)):
            actor = services.actor_for(user, NOW)
            waiting_at |= {row.step_no for row in services.waiting(s, registry, actor, limit=5000, now=NOW)}
        lapor = current_sops(s, registry, NOW)["laporisp4n"]
        assert {a.no for a in lapor.activities if a.flow == "pengaduan"} <= waiting_at


def test_overdue_escalated_paused_and_delegated_cases_show_through_the_services(factory, registry, seeded_demo):
    with factory() as s:
        admin = _actor(s, "admin_utama")
        rows = services.waiting(s, registry, admin, limit=5000, now=NOW)
        assert any(r.overdue for r in rows) and any(not r.overdue for r in rows)
        assert any(r.deadline == DeadlineState.PAUSED for r in rows)
        escalated = services.escalated(s, registry, _actor(s, "kadis"), limit=5000, now=NOW)
        assert escalated and all(r.escalated for r in escalated)
        # the escalation sop tick would have written is there once, with its notice: tick adds nothing
        assert s.scalar(select(func.count()).select_from(Notice)) == \
            s.scalar(select(func.count()).select_from(HistoryEntry).where(HistoryEntry.action == ESCALATED))
        paused = s.scalars(select(Case).where(Case.paused_at.is_not(None))).first()
        assert paused is not None
        view = services.case_view(s, registry, paused.id, _actor(s, "admin_utama" if paused.sop_id == "laporisp4n"
                                                                 else "petugas_informasi"), now=NOW)
        assert view.deadline == DeadlineState.PAUSED and view.history[-1].pause is not None
        resumed = s.scalar(select(func.count()).select_from(HistoryEntry).where(HistoryEntry.action == RESUMED))
        assert resumed and s.scalar(select(func.count()).select_from(HistoryEntry)
                                    .where(HistoryEntry.action == PAUSED)) > resumed
        # a step taken by a Plt/Plh: a delegation row covers it and the case page names both people
        entry = s.scalars(select(HistoryEntry).where(HistoryEntry.on_behalf_of.is_not(None))
                          .order_by(HistoryEntry.id)).first()
        assert entry is not None
        delegation = s.scalar(select(Delegation).where(Delegation.role == entry.role,
                                                       Delegation.delegate_id == entry.user_id,
                                                       Delegation.starts_at <= entry.at, Delegation.ends_at > entry.at))
        assert delegation is not None and delegation.ends_at < NOW
        case = s.get(Case, entry.case_id)
        viewer = next(services.actor_for(u, NOW) for u in s.scalars(select(User).order_by(User.id))
                      if _may_view(registry, case, services.actor_for(u, NOW)))
        view = services.case_view(s, registry, case.id, viewer, now=NOW)
        item = next(h for h in view.history if h.seq == entry.seq)
        assert item.on_behalf_of == entry.on_behalf_of and item.acting_as in ("Plt.", "Plh.")
    with transaction(factory) as s:
        assert services.tick(s, registry, now=NOW) == []
        from runner.services.escalations import record_escalations

        assert record_escalations(s, registry, now=NOW) == []


def _may_view(registry, case, actor):
    from runner import access

    sop = services.cases.engine_of(registry, case).sop
    return access.may_view(sop, case.state, actor, case.unit_id)


def test_the_recap_of_a_seeded_month_has_figures(factory, registry, seeded_demo):
    with factory() as s:
        monthly = s.scalars(select(Case).where(Case.period.is_not(None)).order_by(Case.period)).all()
        assert len(monthly) >= 3  # the past months' recap cases, opened as sop tick opens them
        assert sum(c.closed_at is not None for c in monthly) >= 2  # older months worked to their end
        sop = current_sops(s, registry, NOW)["laporisp4n"]
        flow = sop.scheduled_flows[0]
        report = recap.month_report(s, sop, flow, "2026-10", now=NOW)
        totals = report.table("totals")
        assert totals.rows[0][1][0] > 20  # received
        timing = report.table("timing")
        medians = [values[1] for _, values in timing.rows if values[0]]
        assert medians and all(m is not None and m >= 0 for m in medians) and any(m > 0 for m in medians)
        assert report.untimed_steps == 0
        by_channel = report.table("by_kanal")
        assert sum(1 for v in by_channel.rows[0][1] if v) >= 3  # several channels received reports


def test_running_twice_does_not_double(factory, registry, seeded_demo):
    with transaction(factory) as s:
        again = seed_demo(s, registry, months=4, cases=CASES, now=NOW)
    assert again.skipped and again.cases == 0 and "nothing written" in again.summary()
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.period.is_(None))) == CASES
    with factory() as s:
        delegations = s.scalar(select(func.count()).select_from(Delegation))
    with transaction(factory) as s:
        more = seed_demo(s, registry, months=4, cases=50, now=NOW, force=True)
    assert more.cases == 50 and more.delegations == 0  # the first run's delegations are reused
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.period.is_(None))) == CASES + 50
        assert s.scalar(select(func.count()).select_from(Delegation)) == delegations
        assert services.check_database(s, registry) == []


def test_bad_sizes_are_refused(factory, registry, seeded):
    with transaction(factory) as s:
        with pytest.raises(InvalidInput, match="--months"):
            seed_demo(s, registry, months=0)
        with pytest.raises(InvalidInput, match="--cases"):
            seed_demo(s, registry, cases=-1)


def test_the_cli_command(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    args = ["--database", db, "--definitions", str(DEFINITIONS)]
    assert main(["demo", *args]) == 0
    capsys.readouterr()
    assert main(["seed-demo", "--months", "2", "--cases", "120", *args]) == 0
    out = capsys.readouterr().out
    assert re.match(r"wrote 120 cases, [\d,]+ history rows, .* in \d+\.\d s\n$", out), out
    assert main(["seed-demo", "--months", "2", "--cases", "120", *args]) == 0
    assert "nothing written" in capsys.readouterr().out
    assert main(["seed-demo", "--months", "500", *args]) == 1
    assert "--months must be between 1 and 120" in capsys.readouterr().err
    assert main(["check-db", "--database", db]) == 0
    engine = make_engine(db)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.period.is_(None))) == 120
    engine.dispose()


def test_a_large_load_puts_back_every_index_and_foreign_key(factory, registry, seeded, monkeypatch):
    """On PostgreSQL a large load drops the search table's text indexes and the foreign keys, and
    makes them again in the same transaction: the schema afterwards is the schema before."""
    from sqlalchemy import text

    from runner.services import seed_demo as module

    monkeypatch.setattr(module, "LARGE", 1)

    def schema(s):
        if s.get_bind().dialect.name != "postgresql":
            return None
        return (sorted(s.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                      "WHERE contype = 'f'")).all()),
                sorted(s.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                      "WHERE schemaname = current_schema()")).all()))

    with factory() as s:
        before = schema(s)
    with transaction(factory) as s:
        assert seed_demo(s, registry, months=2, cases=60, now=NOW).cases == 60
    with factory() as s:
        assert schema(s) == before
        assert services.check_database(s, registry) == []


def test_sop_recap_of_a_seeded_month_gives_the_pages_figures(app, db_url, factory, seeded_demo, tmp_path):
    """The done-when of the time issue: `sop recap MONTH -o FILE` on seeded data = the page's download."""
    from web_helpers import Visitor

    with factory() as s:
        recap_case = s.scalar(select(Case).where(Case.sop_id == "laporisp4n", Case.period == "2026-10"))
    out = tmp_path / "recap.csv"
    assert main(["recap", "2026-10", "--sop", "laporisp4n", "-o", str(out), "--database", db_url,
                 "--definitions", str(DEFINITIONS)]) == 0
    admin = Visitor(app)
    admin.login("admin_utama")
    page = admin.get(f"/kasus/{recap_case.id}/rekap.csv")
    assert page.status_code == 200
    downloaded = page.get_data(as_text=True).replace("\r\n", "\n").strip().splitlines()
    written = out.read_text(encoding="utf-8").replace("\r\n", "\n").strip().splitlines()
    assert downloaded == written and len(written) > 10
