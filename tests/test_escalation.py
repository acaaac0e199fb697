"""Escalation: a step overdue by its ``escalate_after`` appears as escalated in the inbox of the
roles it names, derived from stored times with no process running; ``sop tick`` records each
escalation once (a notice and a history entry) however often it runs."""

from __future__ import annotations

import datetime as dt
import shutil
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from conftest import LAPOR, REPORT
from runner import access, services
from runner.cli import main as sop
from runner.definition import load_file, load_text
from runner.durations import Duration
from runner.engine import Actor
from runner.errors import DefinitionError
from runner.registry import Registry
from runner.services import demo
from runner.services.cases import ESCALATED
from runner.services.escalations import KIND, record_escalations
from runner.services.publishing import stored_versions
from runner.store import Case, HistoryEntry, Notice, User, transaction
from web_helpers import STEPS, Visitor

WIB = ZoneInfo("Asia/Pontianak")
CAL = load_file(LAPOR).calendar
LONG_AGO = dt.datetime(2026, 6, 1, 10, 0, tzinfo=WIB)  # a Monday, months before any run of this test


def _start(factory, registry, now) -> int:
    with transaction(factory) as s:
        return services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=Actor.public("pelapor"),
                                   now=now).id


def _walk(factory, registry, actor, case_id, upto, now, first=1):
    """Steps first..upto-1, each 10 minutes after the last; returns the moment of the last one."""
    for no, user, action, fields in STEPS[first - 1: upto - 1]:
        now += dt.timedelta(minutes=10)
        raw = {**fields, "jawaban": STEPS[5][3]["jawaban"]} if no == 8 else fields
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(user), action, raw, expected_version=None, now=now)
    return now


def _row(factory, case_id) -> Case:
    with factory() as s:
        case = s.get(Case, case_id)
        s.expunge(case)
        return case


def _escalations(factory, case_id):
    with factory() as s:
        notices = list(s.scalars(select(Notice).where(Notice.case_id == case_id, Notice.kind == KIND)))
        entries = list(s.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id,
                                                            HistoryEntry.action == ESCALATED)))
        return notices, entries


# -- the definition --------------------------------------------------------------------------------
def test_lapor_escalates_the_opd_steps_to_the_kadis():
    sop_ = load_file(LAPOR)
    escalating = {a.no: (a.escalation.roles, a.escalation.after) for a in sop_.activities if a.escalation}
    assert escalating == {n: (("kadis",), Duration(days=1)) for n in (5, 7, 8)}


@pytest.mark.parametrize("old,new,message", [
    ("    time_limit:\n      text: 4 hari\n      advisory: true",
     "    time_limit:\n      text: 4 hari\n      advisory: true\n    escalate_to: [kadis]",
     "a step without a binding time_limit is never overdue, so it cannot escalate (its time_limit is advisory)"),
    ("    time_limit: 4 Jam\n    escalate_to: [kadis]\n", "    time_limit: 4 Jam\n    escalate_to: [kadsi]\n",
     "escalate_to[0]: unknown role 'kadsi'"),
    ("    time_limit: 4 Jam\n    escalate_to: [kadis]\n", "    time_limit: 4 Jam\n    escalate_to: [pelapor]\n",
     "role 'pelapor' is external"),
    ("    time_limit: 4 Jam\n    escalate_to: [kadis]\n    escalate_after: 1 hari\n",
     "    time_limit: 4 Jam\n    escalate_after: 1 hari\n",
     "escalate_after needs escalate_to: the roles to tell"),
    ("    time_limit: 4 Jam\n    escalate_to: [kadis]\n    escalate_after: 1 hari\n",
     "    time_limit: 4 Jam\n    escalate_to: [kadis]\n    escalate_after: kapan-kapan\n",
     "cannot read time limit 'kapan-kapan'"),
])
def test_bad_escalations_are_refused_at_their_line(old, new, message):
    text = LAPOR.read_text(encoding="utf-8")
    assert old in text, old
    with pytest.raises(DefinitionError) as exc:
        load_text(text.replace(old, new, 1), "x.yaml")
    assert message in str(exc.value)


# -- derived at query time -------------------------------------------------------------------------
def test_escalate_at_is_stored_with_the_due_time(factory, registry, seeded, actor):
    case_id = _start(factory, registry, LONG_AGO)
    assert _row(factory, case_id).escalate_at is None  # step 1 names no escalation
    at = _walk(factory, registry, actor, case_id, 5, LONG_AGO)
    row = _row(factory, case_id)
    assert row.state == "terima_disposisi"
    assert row.due_at == CAL.add(at, Duration(minutes=30))
    assert row.escalate_at == CAL.add(row.due_at, Duration(days=1))  # overdue for one working day
    _walk(factory, registry, actor, case_id, 6, at, first=5)  # step 6 is advisory: never escalates
    assert _row(factory, case_id).escalate_at is None


def test_done_when_escalated_in_the_inbox_then_recorded_once(app, factory, registry, seeded, actor, db_url, capsys):
    """The issue's done-when: overdue -> escalated in the Kadis's inbox with no process running;
    after `sop tick` the history shows the escalation once, however often tick runs."""
    case_id = _start(factory, registry, LONG_AGO)
    _walk(factory, registry, actor, case_id, 5, LONG_AGO)  # waits at step 5 since June: long overdue
    kadis = Visitor(app)
    kadis.login("kadis")
    html = kadis.get("/kotak-masuk").get_data(as_text=True)
    assert f'data-escalated-case="{case_id}"' in html
    assert html.count('<span class="badge" data-escalated>') == 1  # the row is marked escalated
    assert kadis.get(f"/kasus/{case_id}").status_code == 200  # the Kadis may open it
    other = Visitor(app)
    other.login("operator_opd.disdik")
    assert f'data-escalated-case="{case_id}"' not in other.get("/kotak-masuk").get_data(as_text=True)

    args = ["--database", db_url, "--definitions", str(LAPOR.parent)]
    for _ in range(3):
        assert sop(["tick", *args]) == 0
    out = capsys.readouterr().out
    assert out.count(f"case {case_id} escalated at 'terima_disposisi' to kadis") == 1
    notices, entries = _escalations(factory, case_id)
    assert len(notices) == 1 and len(entries) == 1
    assert notices[0].payload["roles"] == ["kadis"] and notices[0].sent_at is None
    assert (entries[0].from_state, entries[0].to_state) == ("terima_disposisi", "terima_disposisi")
    page = kadis.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert page.count('data-testid="history-escalated"') == 1
    assert sop(["check-db", "--database", db_url]) == 0
    # the case still moves on: the escalation took its own history number
    row = _row(factory, case_id)
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor("operator_opd.dinkes"), "teruskan_ke_penghubung",
                              {"catatan_operator": "Maaf terlambat"}, expected_version=row.version)
    assert _row(factory, case_id).state == "koordinasi_jawaban"


def test_a_step_entered_again_escalates_again(factory, registry, seeded, actor):
    case_id = _start(factory, registry, LONG_AGO)
    at = _walk(factory, registry, actor, case_id, 5, LONG_AGO)
    with transaction(factory) as s:
        assert [e.case_id for e in record_escalations(s, registry)] == [case_id]
    with transaction(factory) as s:  # handed back (bukan wewenang), disposed again: step 5 anew
        services.perform_step(s, registry, case_id, actor("operator_opd.dinkes"), "bukan_wewenang",
                              {"alasan_bukan_wewenang": "Bukan kami"}, expected_version=None, now=at + dt.timedelta(days=20))
        services.perform_step(s, registry, case_id, actor("kadis"), "teruskan",
                              {"opd_tujuan": "dinkes", "isi_disposisi": "Tetap dinkes"}, expected_version=None,
                              now=at + dt.timedelta(days=21))
    with transaction(factory) as s:
        assert record_escalations(s, registry, now=at + dt.timedelta(days=21, minutes=5)) == []  # not yet late
    with transaction(factory) as s:
        assert [e.case_id for e in record_escalations(s, registry)] == [case_id]
    with transaction(factory) as s:
        assert record_escalations(s, registry) == []
    notices, entries = _escalations(factory, case_id)
    assert len(notices) == 2 and len({n.key for n in notices}) == 2 and len(entries) == 2


def test_a_case_from_before_escalate_at_existed_escalates_after_one_tick(factory, registry, seeded, actor):
    """A step entered before migration 0007 has no stored escalate_at: the first tick fills it in
    (without moving the case's version, so check-db stays clean) and records the escalation once."""
    from runner.services.escalations import backfill_escalate_at
    from runner.services.integrity import check_database

    case_id = _start(factory, registry, LONG_AGO)
    _walk(factory, registry, actor, case_id, 5, LONG_AGO)
    stored = _row(factory, case_id)
    with transaction(factory) as s:
        s.execute(update(Case).where(Case.id == case_id).values(escalate_at=None))
    with transaction(factory) as s:
        assert [e.case_id for e in record_escalations(s, registry)] == [case_id]
    row = _row(factory, case_id)
    assert row.escalate_at == stored.escalate_at
    with transaction(factory) as s:
        assert backfill_escalate_at(s, registry) == 0 and record_escalations(s, registry) == []
        assert check_database(s, registry) == []
    assert len(_escalations(factory, case_id)[0]) == 1


def test_a_paused_or_closed_case_never_escalates(factory, registry, seeded, actor):
    paused = _start(factory, registry, LONG_AGO)
    _walk(factory, registry, actor, paused, 5, LONG_AGO)
    with transaction(factory) as s:
        s.execute(update(Case).where(Case.id == paused).values(paused_at=LONG_AGO + dt.timedelta(days=1)))
    kadis = actor("kadis")
    with factory() as s:
        assert services.escalated(s, registry, kadis) == []
        row = s.get(Case, paused)
        sop_ = registry.get("laporisp4n")
        assert not access.is_escalated(sop_, row.state, kadis, row.unit_id, row.escalate_at, True,
                                       dt.datetime.now(dt.timezone.utc))
    with transaction(factory) as s:
        assert record_escalations(s, registry) == []


@pytest.fixture
def scoped_registry(tmp_path):
    """LAPOR with step 5 also escalating to the (unit-scoped) Kadis OPD."""
    text = LAPOR.read_text(encoding="utf-8")
    old = "    time_limit: 30 menit\n"
    assert old in text
    text = text.replace(old, old, 1)
    text = text.replace("    escalate_to: [kadis]\n    escalate_after: 1 hari\n",
                        "    escalate_to: [kadis, kadis_opd]\n    escalate_after: 1 hari\n", 1)
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "laporisp4n.yaml").write_text(text, encoding="utf-8")
    shutil.copy(LAPOR.parent / "ppid.yaml", tmp_path / "defs" / "ppid.yaml")
    return Registry.from_directory(tmp_path / "defs")


def test_a_unit_scoped_escalation_role_sees_only_its_units_cases(factory, scoped_registry):
    registry = scoped_registry
    with transaction(factory) as s:
        services.publish_all(s, registry)
        demo.seed(s, registry)

    def actor(username):
        with factory() as s:
            return services.actor_for(s.scalar(select(User).where(User.username == username)))

    case_id = _start(factory, registry, LONG_AGO)
    _walk(factory, registry, actor, case_id, 5, LONG_AGO)
    with factory() as s:
        versions = list(stored_versions(s, registry))
        now = dt.datetime.now(dt.timezone.utc)
        for username, expected in (("kadis_opd.dinkes", True), ("kadis_opd.disdik", False), ("kadis", True),
                                   ("kabid", False)):
            who = actor(username)
            listed = s.scalar(select(func.count()).select_from(Case).where(
                access.escalated_criteria(versions, who, now))) == 1
            row = s.get(Case, case_id)
            predicate = access.is_escalated(registry.get("laporisp4n"), row.state, who, row.unit_id, row.escalate_at,
                                            False, now)
            assert listed is predicate is expected, username
            assert access.may_view(registry.get("laporisp4n"), row.state, who, row.unit_id) is \
                (expected or username == "kabid"), username
