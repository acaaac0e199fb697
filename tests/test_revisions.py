"""A revision never strands a running case: `sop publish` plans every live case of the older versions,
refuses what would strand one, moves the others (each with a history entry naming both versions), and
the database — not the file on disk — says which version new cases start on."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from conftest import DEFINITIONS, REPORT
from runner import services
from runner.cli import main
from runner.definition import check_text
from runner.errors import CaseMovedOn, RevisionRefused
from runner.registry import Registry
from runner.services import revisions
from runner.services.publishing import current_sops
from runner.services.revisions import MIGRATED
from runner.store import Case, Definition, HistoryEntry, transaction
from test_services import NOW, PELAPOR, USERS, WALK, act, start, walk_to
from web_helpers import Visitor, dispose, make_app

OLD_STEP, NEW_STEP = "verifikasi_laporan", "verifikasi_klasifikasi"


@pytest.fixture
def actors(actor):
    return {u: actor(u) for u in USERS}


def original(registry) -> str:
    return registry.source(registry.get("laporisp4n"))


def renamed(text: str, *, mapped: bool) -> str:
    """The LAPOR definition with step 2 renamed; with ``mapped``, its migration block says where the
    cases waiting at the old step go."""
    text = re.sub(rf"\b{OLD_STEP}\b", NEW_STEP, text)
    if mapped:
        text += f"\nmigration:\n  steps: {{{OLD_STEP}: {NEW_STEP}}}\n  data: {{catatan_verifikasi: dipindahkan, kanal: sms}}\n"
    return text


def longer_limit(text: str, step: str = OLD_STEP, limit: str = "3 hari") -> str:
    """Step ``step`` with a longer time limit (7,5 jam → ``limit``)."""
    at = text.index(f"    id: {step}\n")
    head, tail = text[:at], text[at:]
    assert "time_limit: 7,5 jam" in tail.split("  - no:")[0]
    return head + tail.replace("time_limit: 7,5 jam", f"time_limit: {limit}", 1)


def write(tmp_path, text: str, name: str = "revision.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def cli(db_url, *args) -> int:
    return main([*args, "--database", db_url, "--definitions", str(DEFINITIONS)])


def definitions(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Definition))


def history(factory, case_id) -> list[HistoryEntry]:
    with factory() as s:
        return list(s.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id).order_by(HistoryEntry.seq)))


def case_of(factory, case_id) -> Case:
    with factory() as s:
        case = s.get(Case, case_id)
        s.expunge(case)
        return case


def check_db(factory) -> list[str]:
    with factory() as s:
        return services.check_database(s, Registry())


def finish(factory, registry, actors, case_id, *, from_no: int):
    """Walk the case from activity ``from_no`` to the end, on whatever version it runs."""
    for no, _, user, action, data, _ in WALK:
        if no >= from_no:
            act(factory, registry, case_id, actors[user], action, data)
    assert case_of(factory, case_id).state == "selesai"


# -- the acceptance case ----------------------------------------------------------------------------
def test_a_renamed_step_is_refused_then_mapped_and_the_case_walks_to_its_end(db_url, factory, registry, seeded,
                                                                           actors, tmp_path, capsys):
    case_id, code = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)  # waits at step 2, which the revision renames
    before = definitions(factory)
    old_version = case_of(factory, case_id).definition.version

    # refused by a dry run, naming the case; and refused for real, nothing written
    unmapped = write(tmp_path, renamed(original(registry), mapped=False))
    assert cli(db_url, "publish", unmapped, "--dry-run") == 1
    out, err = capsys.readouterr()
    assert f"case {case_id} {code}  {OLD_STEP}: stranded" in out and f"case(s) {case_id} would be stranded" in err
    assert cli(db_url, "publish", unmapped) == 1
    capsys.readouterr()
    assert definitions(factory) == before and case_of(factory, case_id).definition.version == old_version

    # a dry run of the mapped revision says where the case goes and writes nothing
    mapped = write(tmp_path, renamed(original(registry), mapped=True), "mapped.yaml")
    assert cli(db_url, "publish", mapped, "--dry-run") == 0
    out, _ = capsys.readouterr()
    assert f"case {case_id} {code}  {OLD_STEP} → {NEW_STEP}: moves" in out and "nothing was written" in out
    assert definitions(factory) == before

    assert cli(db_url, "publish", mapped, "--by", "admin") == 0
    out, _ = capsys.readouterr()
    assert "1 case(s) moved" in out
    case = case_of(factory, case_id)
    assert case.state == NEW_STEP and case.definition.version != old_version
    assert case.definition.published_by == "admin" and case.definition.migrated_at is not None
    assert case.data["catatan_verifikasi"] == "dipindahkan"  # absent: filled in by migration.data
    assert case.data["kanal"] == "web"  # present: never overwritten
    last = history(factory, case_id)[-1]
    assert (last.action, last.actor_name, last.from_state, last.to_state) == (MIGRATED, "sistem", OLD_STEP, NEW_STEP)
    assert last.data["_from_version"] == old_version and last.data["_to_version"] == case.definition.version
    assert check_db(factory) == []

    # the case then walks to its end on the new version
    admin = actors["admin_utama"]
    assert act(factory, registry, case_id, admin, "valid", {})[0] == "sampaikan_ke_pimpinan"
    finish(factory, registry, actors, case_id, from_no=3)
    assert check_db(factory) == []
    with factory() as s:
        view = services.case_view(s, registry, case_id, admin)
        assert [h.seq for h in view.history] == list(range(1, len(view.history) + 1))
        [move] = [h for h in view.history if h.migrated]
        assert move.migrated == (old_version[:12], case.definition.version[:12]) and not move.step_name
        assert move.due_at == case.due_at  # the due time the new version gave the step
    # the case page says the case moved to a revision, not that it was opened again
    app = make_app(db_url)
    try:
        visitor = Visitor(app)
        visitor.login("admin_utama")
        page = visitor.get(f"/kasus/{case_id}").get_data(as_text=True)
        moved = re.search(r'data-testid="history-migrated">([^<]*)<', page)
        assert moved and old_version[:12] in moved.group(1) and case.definition.version[:12] in moved.group(1)
    finally:
        dispose(app)


def test_keep_stranded_leaves_the_case_on_its_version_and_it_finishes_there(db_url, factory, registry, seeded,
                                                                          actors, tmp_path, capsys):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)
    other, _ = start(factory, registry)  # at step 1, which the revision keeps: it moves
    old_version = case_of(factory, case_id).definition.version
    assert cli(db_url, "publish", write(tmp_path, renamed(original(registry), mapped=False)), "--keep-stranded") == 0
    out, _ = capsys.readouterr()
    assert f"case {case_id} " in out and ": stays (" in out and "1 case(s) moved, 1 kept" in out
    assert case_of(factory, case_id).definition.version == old_version
    assert case_of(factory, other).definition.version != old_version
    # new cases start on the new version; the kept one still finishes on its own
    new_id, _ = start(factory, registry)
    assert case_of(factory, new_id).definition.version != old_version
    finish(factory, registry, actors, case_id, from_no=2)
    assert case_of(factory, case_id).definition.version == old_version
    walk_to(factory, registry, actors, other, 1)
    assert case_of(factory, other).state == NEW_STEP
    assert check_db(factory) == []


def test_a_unit_scoped_target_without_a_unit_strands_the_case(factory, registry, seeded, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 3)  # at step 4, no unit chosen yet
    text = original(registry) + "\nmigration:\n  steps: {disposisi_pimpinan: terima_disposisi}\n"
    with factory() as s:
        planned = revisions.plan(s, registry, text)
        [stranded] = [o for o in planned.outcomes if o.case_id == case_id]
        assert stranded.outcome == "stranded" and "unit" in stranded.reason and not planned.ok
        with pytest.raises(RevisionRefused, match=str(case_id)):
            revisions.publish(s, registry, planned, by="cli")


def test_migration_targets_must_be_steps_of_the_new_version(registry):
    text = original(registry) + "\nmigration:\n  steps: {langkah_lama: tidak_ada}\n  data: {bukan_field: x}\n"
    sop, problems = check_text(text, "rev.yaml")
    assert sop is None
    lines = text.splitlines()
    by_message = {p.message.split(":")[0]: p for p in problems}
    steps = by_message["migration.steps.langkah_lama"]
    assert "'tidak_ada' is not an activity of this version" in steps.message
    assert "tidak_ada" in lines[steps.line - 1]
    assert "bukan_field" in lines[by_message["migration.data.bukan_field"].line - 1]


# -- effective dates and idempotence ------------------------------------------------------------------------
def test_a_future_effective_date_starts_new_cases_then_tick_moves_live_cases_once(factory, registry, seeded, actors):
    live, _ = start(factory, registry)
    walk_to(factory, registry, actors, live, 1)
    old_version = case_of(factory, live).definition.version
    now = dt.datetime.now(dt.timezone.utc)
    effective = now + dt.timedelta(days=10)
    text = longer_limit(original(registry))
    with transaction(factory) as s:
        planned = revisions.plan(s, registry, text, effective=effective, now=now)
        done = revisions.publish(s, registry, planned, by="cli", now=now)
    assert done.pending and done.moved == () and case_of(factory, live).definition.version == old_version

    before, _ = start(factory, registry, now=now + dt.timedelta(days=9))
    assert case_of(factory, before).definition.version == old_version  # not yet effective
    with transaction(factory) as s:
        assert revisions.apply_due_migrations(s, registry, now + dt.timedelta(days=9)) == []
    after, _ = start(factory, registry, now=now + dt.timedelta(days=11))
    assert case_of(factory, after).definition.version == done.version

    with transaction(factory) as s:
        [applied] = revisions.apply_due_migrations(s, registry, now + dt.timedelta(days=11))
    assert set(applied.moved) == {live, before} and applied.version == done.version
    with transaction(factory) as s:
        assert revisions.apply_due_migrations(s, registry, now + dt.timedelta(days=12)) == []
    assert [e.action for e in history(factory, live)].count(MIGRATED) == 1
    with factory() as s:
        assert s.get(Definition, done.definition_id).migrated_at is not None
    assert check_db(factory) == []


def test_sop_tick_moves_the_cases_of_a_revision_that_took_effect(db_url, factory, registry, seeded, actors,
                                                                tmp_path, capsys):
    live, _ = start(factory, registry)
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).date().isoformat()
    assert cli(db_url, "publish", write(tmp_path, longer_limit(original(registry))), "--effective", tomorrow) == 0
    out, _ = capsys.readouterr()
    assert "takes effect" in out
    assert cli(db_url, "tick") == 0
    out, _ = capsys.readouterr()
    assert "took effect" not in out  # not yet
    with transaction(factory) as s:  # the date comes (as tick would see it then)
        [applied] = revisions.apply_due_migrations(s, registry, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3))
    assert live in applied.moved  # and the monthly case tick opened on the old version
    assert {case_of(factory, c).definition_id for c in applied.moved} == {applied.definition_id}
    assert check_db(factory) == []


def test_publishing_the_same_text_again_changes_nothing(db_url, factory, registry, seeded, actors, tmp_path, capsys):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)
    text = renamed(original(registry), mapped=True)
    with transaction(factory) as s:
        first = revisions.publish(s, registry, revisions.plan(s, registry, text), by="cli")
    count = definitions(factory)
    with transaction(factory) as s:
        again = revisions.plan(s, registry, text)
        assert not again.is_new and again.outcomes == ()
        second = revisions.publish(s, registry, again, by="cli")
    assert (first.moved, second.moved) == ((case_id,), ())
    assert second.definition_id == first.definition_id and definitions(factory) == count
    assert [e.action for e in history(factory, case_id)].count(MIGRATED) == 1
    path = write(tmp_path, text)
    assert cli(db_url, "publish", path) == 0
    out, _ = capsys.readouterr()
    assert "already stored" in out and "0 case(s) moved" in out
    # the file imported at start-up stays in the database's history, behind the published revision
    assert cli(db_url, "versions", "laporisp4n") == 0
    out, _ = capsys.readouterr()
    lines = [line for line in out.splitlines() if "published" in line]
    assert len(lines) == 2 and "by startup" in lines[0] and "0 live case(s)" in lines[0]
    assert lines[1].startswith("*") and "by cli" in lines[1] and "1 live case(s)" in lines[1]


# -- the database is the source of truth ----------------------------------------------------------------------
def test_a_version_published_by_one_runtime_is_current_in_another(db_url, factory, registry, seeded):
    first = services.open_runtime(db_url, DEFINITIONS)
    second = services.open_runtime(db_url, DEFINITIONS)  # another worker, started before the revision
    try:
        text = longer_limit(original(registry))
        with transaction(first.factory) as s:
            done = revisions.publish(s, first.registry, revisions.plan(s, first.registry, text), by="admin")
        with second.factory() as s:
            assert current_sops(s, second.registry)["laporisp4n"].version == done.version
            [(sop, _)] = [(sop, f) for sop, f in services.public_flows(s, second.registry) if sop.id == "laporisp4n"]
            assert sop.version == done.version
        assert second.registry.get("laporisp4n").version != done.version  # its file is older...
        with transaction(second.factory) as s:  # ...yet its new cases start on the database's version
            case = services.start_case(s, second.registry, "laporisp4n", "pengaduan", REPORT, actor=PELAPOR)
            assert case.definition.version == done.version
        third = services.open_runtime(db_url, DEFINITIONS)  # a restart does not bring the file back
        with third.factory() as s:
            assert current_sops(s, third.registry)["laporisp4n"].version == done.version
        third.engine.dispose()
    finally:
        first.engine.dispose()
        second.engine.dispose()


def test_two_apps_on_one_database_serve_the_version_either_published(db_url, factory, registry, seeded):
    one, two = make_app(db_url), make_app(db_url)
    try:
        text = original(registry)
        assert text.count("label: {id: Judul laporan, en: Report title}") == 1
        text = text.replace("label: {id: Judul laporan, en: Report title}", "label: {id: Judul singkat, en: Short title}")
        runtime = one.extensions["sop"]
        with transaction(runtime.factory) as s:  # what the admin page of the first app's worker does
            done = revisions.publish(s, runtime.registry, revisions.plan(s, runtime.registry, text), by="admin")
        visitor = Visitor(two)  # the other worker, whose file on disk still says "Judul laporan"
        page = visitor.get("/lapor/laporisp4n/pengaduan").get_data(as_text=True)
        assert "Judul singkat" in page and "Judul laporan" not in page
        r = visitor.submit("/lapor/laporisp4n/pengaduan", REPORT, control="nonce")
        assert r.status_code == 302
        with factory() as s:
            newest = s.scalars(select(Case).order_by(Case.id.desc())).first()
            assert newest.definition_id == done.definition_id
    finally:
        dispose(one)
        dispose(two)


def test_a_moved_case_gets_its_due_time_from_the_new_limit(factory, registry, seeded, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)  # entered step 2 at NOW: due 7,5 working hours later
    old_due = case_of(factory, case_id).due_at
    with transaction(factory) as s:
        planned = revisions.plan(s, registry, longer_limit(original(registry)))
        [outcome] = [o for o in planned.outcomes if o.case_id == case_id]
        assert (outcome.outcome, outcome.to_state) == ("moves", OLD_STEP)
        revisions.publish(s, registry, planned, by="cli")
    new = planned.sop
    limit = new.activity(OLD_STEP).time_limit.duration
    case = case_of(factory, case_id)
    assert case.due_at == new.calendar.add(NOW, limit) > old_due  # from when it entered the step, not now
    assert check_db(factory) == []


# -- concurrency ----------------------------------------------------------------------------------------------
def test_a_step_taken_after_planning_is_re_planned(factory, registry, seeded, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)
    with factory() as s:
        planned = revisions.plan(s, registry, renamed(original(registry), mapped=True))
    assert [o.to_state for o in planned.outcomes if o.case_id == case_id] == [NEW_STEP]
    act(factory, registry, case_id, actors["admin_utama"], "valid", {})  # meanwhile, at step 3
    with transaction(factory) as s:
        done = revisions.publish(s, registry, planned, by="cli")
    assert case_id in done.moved
    case = case_of(factory, case_id)
    assert case.state == "sampaikan_ke_pimpinan" and case.definition_id == done.definition_id
    assert [e.to_state for e in history(factory, case_id)][-2:] == ["sampaikan_ke_pimpinan"] * 2
    assert check_db(factory) == []


def test_a_step_racing_the_move_has_one_winner_and_no_corruption(factory, registry, seeded, actors, monkeypatch):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)
    text = renamed(original(registry), mapped=True)
    with transaction(factory) as s:  # stored (as a start-up import would) so the move is the first write
        services.publish(s, check_text(text, "rev.yaml")[0], text)
    real = revisions._apply_move
    raced = []

    def concurrent_step_first(session, registry_, case, *args):
        if not raced:  # another request performs the step between our read of the case and our write
            raced.append(act(factory, registry, case_id, actors["admin_utama"], "valid", {}))
        real(session, registry_, case, *args)

    monkeypatch.setattr(revisions, "_apply_move", concurrent_step_first)
    with transaction(factory) as s:
        done = revisions.publish(s, registry, revisions.plan(s, registry, text), by="cli")
    assert raced == [("sampaikan_ke_pimpinan", 3)] and done.moved == (case_id,)
    case = case_of(factory, case_id)
    assert (case.state, case.version) == ("sampaikan_ke_pimpinan", 4)  # the step, then the move from where it led
    assert [e.seq for e in history(factory, case_id)] == [1, 2, 3, 4]
    assert check_db(factory) == []


def test_a_form_opened_before_the_move_is_refused_after_it(factory, registry, seeded, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)
    version = case_of(factory, case_id).version
    with transaction(factory) as s:
        revisions.publish(s, registry, revisions.plan(s, registry, renamed(original(registry), mapped=True)), by="cli")
    with pytest.raises(CaseMovedOn):
        act(factory, registry, case_id, actors["admin_utama"], "valid", {}, expected_version=version)
    assert case_of(factory, case_id).state == NEW_STEP
    assert check_db(factory) == []


def test_check_db_notices_a_case_whose_version_disagrees_with_its_move(factory, registry, seeded, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)
    with transaction(factory) as s:
        done = revisions.publish(s, registry, revisions.plan(s, registry, longer_limit(original(registry))), by="cli")
    old = history(factory, case_id)[-1].data["_from_definition"]
    with transaction(factory) as s:
        s.execute(update(Case).where(Case.id == case_id).values(definition_id=old))  # a hand edit, history kept
    assert check_db(factory) == [f"case {case_id}: runs on definition {old} but its move (history 3) was to "
                                 f"definition {done.definition_id}"]
    assert NOW < dt.datetime.now(dt.timezone.utc)


# -- the rule, over many revisions --------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(renames=st.sets(st.sampled_from([s for _, s, *_ in WALK])), data=st.data())
def test_every_case_either_moves_to_a_step_of_its_flow_or_is_stranded(registry, renames, data):
    """Rename any set of LAPOR steps and map some of them: a case at a kept or mapped step moves to an
    activity of its own flow (never to one only unit-scoped roles perform while it has no unit); a case
    at a renamed, unmapped step is stranded; keep-stranded turns exactly the stranded ones into stays."""
    mapped = data.draw(st.sets(st.sampled_from(sorted(renames))) if renames else st.just(set()))
    text = original(registry)
    for step in renames:
        text = re.sub(rf"\b{step}\b", f"{step}_baru", text)
    if mapped:
        text += "\nmigration:\n  steps:\n" + "".join(f"    {s}: {s}_baru\n" for s in sorted(mapped))
    new = check_text(text, "rev.yaml")[0]
    old = registry.get("laporisp4n")
    for activity in old.activities:
        for unit in (None, "dinkes"):
            outcome, target, reason = revisions.outcome_for(new, activity.flow, activity.id, unit)
            kept = revisions.outcome_for(new, activity.flow, activity.id, unit, keep_stranded=True)
            lost = activity.id in renames and activity.id not in mapped
            if target is not None:
                assert outcome == "moves" and not lost and new.activity(target).flow == activity.flow
                assert target == (f"{activity.id}_baru" if activity.id in renames else activity.id)
                assert kept[0] == "moves"
            else:
                assert outcome == "stranded" and kept[0] == "stays" and kept[1] is None
                assert lost or (unit is None and "unit" in reason)


def test_asking_for_the_current_versions_reads_no_definition_text_once_built(db_engine, factory, registry, seeded):
    from sqlalchemy import event

    fresh = Registry()  # a worker that has built no engine yet
    statements: list[str] = []

    def record(conn, cursor, statement, *rest):
        statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", record)
    try:
        with factory() as s:
            first = current_sops(s, fresh)
            assert any("definitions.source" in q for q in statements)  # built once, from the stored text
            statements.clear()
            assert current_sops(s, fresh) == first
    finally:
        event.remove(db_engine, "before_cursor_execute", record)
    assert len(statements) == 1 and "source" not in statements[0].split("FROM")[0]
    assert set(first) == {sop.id for sop in registry.current()}
