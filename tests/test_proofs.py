"""Proofs that races and failures lose nothing, on SQLite and PostgreSQL.

* a forced race at every state of the LAPOR SOP: two sessions meet at a barrier and submit the same
  step; exactly one wins, the other is told the case moved on, history grows by exactly one;
* an atomic step: a failure injected after each write of a step, for every activity, leaves the case
  exactly as it was;
* an authorization matrix: the case page and its form, for a case at every state, as a user of
  another unit, a user of a role that does not perform the step, and a visitor who is logged out;
* ``sop check-db`` finds nothing after all of it, and finds what a hand edit broke.
"""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import event, func, select, text, update

from conftest import REPORT
from runner import services
from runner.access import Actor
from runner.cli import main as sop
from runner.errors import CaseMovedOn
from runner.registry import Registry
from runner.store import Case, HistoryEntry, transaction
from web_helpers import Visitor, csrf_token

# the performer, action and form at each activity of the LAPOR report flow, in walk order
LAPOR_WALK = [
    ("input_laporan", "admin_utama", "simpan", {"kanal": "web"}),
    ("verifikasi_laporan", "admin_utama", "valid", {"catatan_verifikasi": "Lengkap"}),
    ("sampaikan_ke_pimpinan", "admin_utama", "sampaikan", {}),
    ("disposisi_pimpinan", "kadis", "teruskan", {"opd_tujuan": "dinkes"}),
    ("terima_disposisi", "operator_opd.dinkes", "teruskan_ke_penghubung", {}),
    ("koordinasi_jawaban", "pejabat_penghubung.dinkes", "ajukan", {"jawaban": "Akan ditambal"}),
    ("verifikasi_jawaban", "kadis_opd.dinkes", "setujui", {}),
    ("kirim_jawaban_opd", "operator_opd.dinkes", "kirim", {"jawaban": "Sudah ditambal"}),
    ("teruskan_ke_pelapor", "admin_utama", "teruskan", {"jawaban_akhir": "Jalan sudah ditambal"}),
]
MONTHLY_WALK = [
    ("rekap_laporan", "admin_utama", "sampaikan", {"ringkasan_rekap": "Rekap"}),
    ("arsip_laporan", "admin_utama", "arsipkan", {"lokasi_arsip": "Lemari 1"}),
]
EVERY_STATE = [(LAPOR_WALK, i) for i in range(len(LAPOR_WALK))] + [(MONTHLY_WALK, i) for i in range(len(MONTHLY_WALK))]
IDS = [walk[i][0] for walk, i in EVERY_STATE]


def _case_at(factory, registry, actor, walk, index: int) -> int:
    with transaction(factory) as s:
        if walk is MONTHLY_WALK:
            case = services.start_case(s, registry, "laporisp4n", "rekap_bulanan", {}, actor=None, period="2001-01")
        else:
            case = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=Actor.public("pelapor"))
        case_id = case.id
    for state, user, action, form in walk[:index]:
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(user), action, form, expected_version=None)
    return case_id


def _snapshot(factory, case_id):
    with factory() as s:
        case = s.get(Case, case_id)
        rows = s.scalar(select(func.count()).select_from(HistoryEntry).where(HistoryEntry.case_id == case_id))
        return case.state, case.version, case.unit_id, dict(case.data), case.due_at, case.closed_at, rows


def _check_db_ok(db_url, capsys):
    capsys.readouterr()
    code = sop(["check-db", "--database", db_url])
    out = capsys.readouterr().out
    assert (code, out) == (0, "OK\n"), out


@pytest.mark.parametrize(("walk", "index"), EVERY_STATE, ids=IDS)
def test_a_forced_race_at_every_state_has_exactly_one_winner(db_url, factory, registry, actor, walk, index, capsys):
    case_id = _case_at(factory, registry, actor, walk, index)
    state, user, action, form = walk[index]
    before = _snapshot(factory, case_id)
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[object] = []

    def attempt(kanal: str) -> None:
        with factory() as s:
            version = s.get(Case, case_id).version
            s.rollback()
            barrier.wait()
            try:
                services.perform_step(s, registry, case_id, actor(user), action, form, expected_version=version)
                s.commit()
                outcomes.append("won")
            except CaseMovedOn:
                s.rollback()
                outcomes.append("moved on")
            except Exception as exc:  # noqa: BLE001 - any other outcome fails the test below
                s.rollback()
                outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    print(f"{state}: {outcomes}")
    assert sorted(map(str, outcomes)) == ["moved on", "won"], outcomes
    after = _snapshot(factory, case_id)
    assert after[1] == before[1] + 1 and after[-1] == before[-1] + 1  # one version, one history row
    _check_db_ok(db_url, capsys)


@pytest.mark.parametrize(("walk", "index"), EVERY_STATE, ids=IDS)
@pytest.mark.parametrize("fail_at", ["after the case update", "after the history insert", "at commit"])
def test_a_step_that_fails_midway_leaves_the_case_as_it_was(db_engine, factory, registry, actor, walk, index,
                                                            fail_at):
    case_id = _case_at(factory, registry, actor, walk, index)
    state, user, action, form = walk[index]
    before = _snapshot(factory, case_id)

    class Injected(Exception):
        pass

    def after_execute(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split()[0].upper()
        if (fail_at == "after the case update" and verb == "UPDATE" and "cases" in statement) or \
           (fail_at == "after the history insert" and verb == "INSERT" and "history" in statement):
            raise Injected(fail_at)

    event.listen(db_engine, "after_cursor_execute", after_execute)
    try:
        with pytest.raises(Injected):
            with transaction(factory) as s:
                services.perform_step(s, registry, case_id, actor(user), action, form, expected_version=None)
                if fail_at == "at commit":
                    raise Injected(fail_at)
    finally:
        event.remove(db_engine, "after_cursor_execute", after_execute)
    assert _snapshot(factory, case_id) == before
    with transaction(factory) as s:  # and the step can still be taken afterwards
        services.perform_step(s, registry, case_id, actor(user), action, form, expected_version=None)
    assert _snapshot(factory, case_id)[-1] == before[-1] + 1


OTHER_UNIT_USER = "operator_opd.disdik"


def _plain(html: str, case_id: int) -> str:
    """A page without what differs between any two requests (its URL, the session's CSRF token)."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html).replace(f"/kasus/{case_id}", "/kasus/N")


@pytest.mark.parametrize("index", range(len(LAPOR_WALK)), ids=[w[0] for w in LAPOR_WALK])
def test_authorization_matrix(app, factory, registry, actor, index):
    case_id = _case_at(factory, registry, actor, LAPOR_WALK, index)
    state, performer, action, form = LAPOR_WALK[index]
    before = _snapshot(factory, case_id)
    missing_case = Visitor(app)
    missing_case.login(OTHER_UNIT_USER)
    missing = _plain(missing_case.get("/kasus/999999").get_data(as_text=True), 999999)

    other_role = "kabid" if performer != "kabid" else "kasi"
    for username, expected_get in ((OTHER_UNIT_USER, 404), (other_role, 200)):
        v = Visitor(app)
        v.login(username)
        page = v.get(f"/kasus/{case_id}")
        assert page.status_code == expected_get, (state, username, page.status_code)
        token = csrf_token(v.get("/kotak-masuk").get_data(as_text=True))
        post = v.post(f"/kasus/{case_id}", {"csrf_token": token, "version": str(before[1]), "action": action,
                                             "step": state, **form})
        if expected_get == 404:
            assert post.status_code == 404
            assert _plain(page.get_data(as_text=True), case_id) == missing  # indistinguishable from no case
        else:
            assert post.status_code == 403 and 'data-testid="refused"' in post.get_data(as_text=True)
    anonymous = Visitor(app)
    for response in (anonymous.get(f"/kasus/{case_id}"), anonymous.post(f"/kasus/{case_id}", {"action": action})):
        assert response.status_code in (302, 400)
        if response.status_code == 302:
            assert "/masuk" in response.headers["Location"]
    assert _snapshot(factory, case_id) == before


def test_check_db_finds_what_a_hand_edit_broke(db_url, factory, registry, actor, capsys):
    case_id = _case_at(factory, registry, actor, LAPOR_WALK, 3)
    closed = _case_at(factory, registry, actor, LAPOR_WALK, 0)
    with transaction(factory) as s:
        services.perform_step(s, registry, closed, actor("admin_utama"), "simpan", {"kanal": "web"},
                              expected_version=None)
    _check_db_ok(db_url, capsys)
    with transaction(factory) as s:
        # the state rewritten by hand, bypassing the version counter; and a case closed by hand
        s.execute(update(Case).where(Case.id == case_id).values(state="kirim_jawaban_opd").execution_options(
            synchronize_session=False))
        s.execute(text("UPDATE cases SET closed_at = created_at WHERE id = :id"), {"id": closed})
        s.execute(update(Case).where(Case.id == closed).values(version=5))
    code = sop(["check-db", "--database", db_url])
    out = capsys.readouterr().out
    assert code == 1
    assert f"case {case_id}: is at 'kirim_jawaban_opd' but its last history row led to 'disposisi_pimpinan'" in out
    assert f"case {closed}: version 5 but history has 2 rows numbered 1..2" in out
    assert f"case {closed}: is open at 'verifikasi_laporan' but marked closed" in out


def test_check_db_on_an_empty_database_is_ok(db_url, db_engine, capsys):
    _check_db_ok(db_url, capsys)


def test_check_db_reads_only_stored_versions(registry):
    assert Registry().current() == ()  # what `sop check-db` passes: no definitions directory needed


def test_twenty_concurrent_posts_of_one_form_file_one_report(app, factory):
    citizen = Visitor(app)
    page = citizen.get("/lapor/laporisp4n/pengaduan")
    html = page.get_data(as_text=True)
    fields = {"csrf_token": csrf_token(html), "nonce": re.search(r'name="nonce" value="([^"]+)"', html).group(1),
              **REPORT}
    cookie = citizen.client.get_cookie("session")
    with factory() as s:
        before = s.scalar(select(func.count()).select_from(Case))
    barrier = threading.Barrier(20, timeout=30)
    answers: list[tuple[int, str]] = []

    def post() -> None:
        client = app.test_client()
        client.set_cookie("session", cookie.value)
        barrier.wait()
        r = client.post("/lapor/laporisp4n/pengaduan", data=fields)
        answers.append((r.status_code, r.headers.get("Location", "")))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with factory() as s:
        after = s.scalar(select(func.count()).select_from(Case))
    print(f"20 concurrent posts: statuses {sorted({a[0] for a in answers})}, reports filed {after - before}")
    assert len(answers) == 20 and {status for status, _ in answers} == {302}
    assert len({location for _, location in answers}) == 1  # everyone is shown the one receipt
    assert after - before == 1
