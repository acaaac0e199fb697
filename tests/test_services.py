"""Use cases against a real database (SQLite, and PostgreSQL with SOP_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from conftest import LAPOR, REPORT
from runner import services
from runner.definition import display
from runner.engine import Actor
from runner.errors import CaseMovedOn, InvalidForm, NotAllowed, NotFound
from runner.registry import Registry
from runner.store import Case, Definition, HistoryEntry, transaction

WIB = ZoneInfo("Asia/Pontianak")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=WIB)  # Monday 10:00 in Putussibau
PELAPOR = Actor.public("pelapor")
USERS = ["admin_utama", "kadis", "kabid", "kasi"] + [
    f"{role}.{unit}" for role in ("operator_opd", "pejabat_penghubung", "kadis_opd")
    for unit in ("dinkes", "disdik", "dpupr")]
OUTSIDER = "operator_opd.disdik"

# (activity no, state, demo user, action, form data, next state)
WALK = [
    (1, "input_laporan", "admin_utama", "simpan", {"kanal": "web", "kategori": "Infrastruktur"}, "verifikasi_laporan"),
    (2, "verifikasi_laporan", "admin_utama", "valid", {"catatan_verifikasi": "Lengkap"}, "sampaikan_ke_pimpinan"),
    (3, "sampaikan_ke_pimpinan", "admin_utama", "sampaikan", {"ringkasan_untuk_pimpinan": "Jalan rusak"},
     "disposisi_pimpinan"),
    (4, "disposisi_pimpinan", "kadis", "teruskan", {"opd_tujuan": "dinkes", "isi_disposisi": "Tindak lanjuti"},
     "terima_disposisi"),
    (5, "terima_disposisi", "operator_opd.dinkes", "teruskan_ke_penghubung", {"catatan_operator": "Segera"},
     "koordinasi_jawaban"),
    (6, "koordinasi_jawaban", "pejabat_penghubung.dinkes", "ajukan", {"jawaban": "Akan ditambal"},
     "verifikasi_jawaban"),
    (7, "verifikasi_jawaban", "kadis_opd.dinkes", "setujui", {}, "kirim_jawaban_opd"),
    (8, "kirim_jawaban_opd", "operator_opd.dinkes", "kirim", {"jawaban": "Sudah ditambal"}, "teruskan_ke_pelapor"),
    (9, "teruskan_ke_pelapor", "admin_utama", "teruskan", {"jawaban_akhir": "Jalan sudah ditambal"}, "selesai"),
]


@pytest.fixture
def actors(actor):
    return {u: actor(u) for u in USERS}


def start(factory, registry, data=REPORT, now=NOW, who=PELAPOR) -> tuple[int, str]:
    with transaction(factory) as s:
        case = services.start_case(s, registry, "laporisp4n", "pengaduan", data, actor=who, now=now)
        return case.id, case.tracking_code


def act(factory, registry, case_id, actor, action, data, now=NOW, *, expected_version=None):
    with transaction(factory) as s:
        case = services.perform_step(s, registry, case_id, actor, action, data, expected_version=expected_version,
                                     now=now)
        return case.state, case.version


def case_row(factory, case_id) -> Case:
    with factory() as s:
        return s.get(Case, case_id)


def entries(factory, case_id) -> list[HistoryEntry]:
    with factory() as s:
        return list(s.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id).order_by(HistoryEntry.seq)))


def waiting_ids(factory, registry, actor) -> set[int]:
    with factory() as s:
        return {r.id for r in services.waiting(s, registry, actor, now=NOW)}


def browse_ids(factory, registry, actor, open_only=True) -> set[int]:
    with factory() as s:
        return {r.id for r in services.browse(s, registry, actor, open_only=open_only, now=NOW)}


def walk_to(factory, registry, actors, case_id, last_no, now=NOW):
    for no, _, user, action, data, _ in WALK:
        if no > last_no:
            break
        act(factory, registry, case_id, actors[user], action, data, now)


# -- the whole procedure ----------------------------------------------------------------------------
def test_full_walk(factory, registry, actors):
    case_id, code = start(factory, registry)
    row = case_row(factory, case_id)
    assert (row.state, row.unit_id, row.version, row.title) == ("input_laporan", None, 1, REPORT["judul"])
    assert row.due_at == dt.datetime(2026, 12, 1, 10, 0, tzinfo=WIB)  # 7,5 jam from Monday 10:00
    [first] = entries(factory, case_id)
    assert (first.seq, first.role, first.user_id, first.to_state) == (1, "pelapor", None, "input_laporan")
    assert first.data["nama_pelapor"] == "Budi"

    now = NOW
    for no, state, user, action, data, target in WALK:
        row = case_row(factory, case_id)
        assert row.state == state
        due_before = row.due_at
        # only the performer of this step finds the case waiting
        for u in USERS:
            assert (case_id in waiting_ids(factory, registry, actors[u])) is (u == user), (no, u)
        # the outsider never sees it, by any door
        assert case_id not in browse_ids(factory, registry, actors[OUTSIDER])
        with factory() as s, pytest.raises(NotFound):  # as if it did not exist
            services.case_view(s, registry, case_id, actors[OUTSIDER])
        with factory() as s:
            view = services.case_view(s, registry, case_id, actors[user], now=now)
            assert [a.id for a in view.actions] == [a.id for a in view.activity.actions]
            assert view.activity.no == no

        now += dt.timedelta(minutes=20)
        new_state, version = act(factory, registry, case_id, actors[user], action, data, now,
                                 expected_version=row.version)
        assert (new_state, version) == (target, no + 1)

        hist = entries(factory, case_id)
        assert [h.seq for h in hist] == list(range(1, no + 2))  # one row per step
        h = hist[-1]
        performer = actors[user]
        assert (h.activity, h.action, h.from_state, h.to_state) == (state, action, state, target)
        assert (h.role, h.unit_id, h.user_id) == (user.split(".")[0], performer.unit, performer.user_id)
        assert {k: v for k, v in h.data.items() if v is not None} == data
        assert h.due_at == due_before  # the deadline this step had
        assert h.at == now

    row = case_row(factory, case_id)
    assert (row.state, row.unit_id, row.due_at) == ("selesai", "dinkes", None)
    assert row.closed_at == now
    assert row.data["jawaban"] == "Sudah ditambal"  # step 8 revised the answer of step 6
    for u in USERS:
        assert case_id not in waiting_ids(factory, registry, actors[u])
    assert case_id in browse_ids(factory, registry, actors["operator_opd.dinkes"], open_only=False)
    assert case_id not in browse_ids(factory, registry, actors["operator_opd.dinkes"])  # closed
    assert case_id not in browse_ids(factory, registry, actors[OUTSIDER], open_only=False)
    with factory() as s:
        view = services.case_view(s, registry, case_id, actors["kadis"])
        assert view.end.id == "selesai" and not view.can_act
        assert [h.seq for h in view.history] == list(range(1, 11))


def informed_ids(factory, registry, actor) -> set[int]:
    with factory() as s:
        return {r.id for r in services.for_information(s, registry, actor, now=NOW)}


def test_recipients_are_told_of_what_reaches_them_without_having_to_act(factory, registry, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 2)
    assert informed_ids(factory, registry, actors["kasi"]) == set()  # not sent up yet
    act(factory, registry, case_id, actors["admin_utama"], "sampaikan", {})
    # Step 3 sends the list to Kasi, Kabid and Kadis: the first two are informed, the Kadis must act.
    assert informed_ids(factory, registry, actors["kasi"]) == {case_id}
    assert informed_ids(factory, registry, actors["kabid"]) == {case_id}
    assert informed_ids(factory, registry, actors["kadis"]) == set()
    assert waiting_ids(factory, registry, actors["kadis"]) == {case_id}
    act(factory, registry, case_id, actors["kadis"], "teruskan", {"opd_tujuan": "dinkes"})
    assert informed_ids(factory, registry, actors["kasi"]) == set()
    # Unit-scoped recipients hear only of their own unit's cases.
    act(factory, registry, case_id, actors["operator_opd.dinkes"], "teruskan_ke_penghubung", {})
    act(factory, registry, case_id, actors["pejabat_penghubung.dinkes"], "ajukan", {"jawaban": "Draf"})
    act(factory, registry, case_id, actors["kadis_opd.dinkes"], "setujui", {})
    assert informed_ids(factory, registry, actors["pejabat_penghubung.dinkes"]) == {case_id}
    assert informed_ids(factory, registry, actors["pejabat_penghubung.disdik"]) == set()


def test_agency_staff_may_browse_every_case_but_act_on_none(factory, registry, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 4)
    for user in ("kabid", "kasi", "admin_utama", "kadis"):
        assert case_id in browse_ids(factory, registry, actors[user])
    for user in ("operator_opd.dinkes", "pejabat_penghubung.dinkes", "kadis_opd.dinkes"):
        assert case_id in browse_ids(factory, registry, actors[user])
    for user in ("operator_opd.disdik", "kadis_opd.dpupr", "pejabat_penghubung.disdik"):
        assert case_id not in browse_ids(factory, registry, actors[user])
    with factory() as s:
        view = services.case_view(s, registry, case_id, actors["kabid"])
        assert view.actions == () and view.unit_name == "Dinas Kesehatan"


def test_wrong_user_is_refused_and_nothing_is_written(factory, registry, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 4)
    for user in ("admin_utama", "kadis", "pejabat_penghubung.dinkes"):
        with pytest.raises(NotAllowed):
            act(factory, registry, case_id, actors[user], "teruskan_ke_penghubung", {})
    with pytest.raises(NotFound):  # another OPD may not even see it
        act(factory, registry, case_id, actors[OUTSIDER], "teruskan_ke_penghubung", {})
    row = case_row(factory, case_id)
    assert (row.state, row.version) == ("terima_disposisi", 5)
    assert len(entries(factory, case_id)) == 5


def test_form_errors_leave_the_case_unchanged(factory, registry, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 5)
    with pytest.raises(InvalidForm) as info:
        act(factory, registry, case_id, actors["pejabat_penghubung.dinkes"], "ajukan", {"jawaban": ""})
    assert info.value.errors["jawaban"].code == "required"
    row = case_row(factory, case_id)
    assert (row.state, row.version) == ("koordinasi_jawaban", 6)
    assert len(entries(factory, case_id)) == 6


def test_start_case_refusals(factory, registry, actors, seeded):
    with factory() as s:
        with pytest.raises(NotFound):
            services.start_case(s, registry, "tidak_ada", "pengaduan", REPORT, actor=PELAPOR)
        with pytest.raises(NotFound):
            services.start_case(s, registry, "laporisp4n", "tidak_ada", REPORT, actor=PELAPOR)
        with pytest.raises(NotAllowed):
            services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=actors["kadis"])
        with pytest.raises(InvalidForm):
            services.start_case(s, registry, "laporisp4n", "pengaduan", {"judul": "x"}, actor=PELAPOR)
        s.rollback()
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
    # Admin Utama inputs a report that came by SMS
    case_id, code = start(factory, registry, who=actors["admin_utama"])
    assert entries(factory, case_id)[0].role == "admin_utama"
    assert code is not None


# -- stale forms and races ----------------------------------------------------------------------------
def test_stale_expected_version_raises_case_moved_on_and_writes_nothing(factory, registry, actors):
    case_id, _ = start(factory, registry)
    rendered = case_row(factory, case_id).version
    act(factory, registry, case_id, actors["admin_utama"], "simpan", {"kanal": "web"}, expected_version=rendered)
    # the same form submitted again (a double click, a second tab)
    with pytest.raises(CaseMovedOn) as info:
        act(factory, registry, case_id, actors["admin_utama"], "simpan", {"kanal": "sms"}, expected_version=rendered)
    assert "Verifikasi laporan masyarakat oleh Admin Utama" in str(info.value)
    row = case_row(factory, case_id)
    assert (row.state, row.version, row.data["kanal"]) == ("verifikasi_laporan", 2, "web")
    assert len(entries(factory, case_id)) == 2


def test_two_sessions_acting_at_once_exactly_one_wins(factory, registry, actors):
    case_id, _ = start(factory, registry)
    admin = actors["admin_utama"]
    first, second = factory(), factory()
    try:
        # both load the case (the form each user sees)
        v1, v2 = first.get(Case, case_id).version, second.get(Case, case_id).version
        assert v1 == v2 == 1
        services.perform_step(first, registry, case_id, admin, "simpan", {"kanal": "web"}, expected_version=v1)
        # the second reaches its flush while the first is not yet committed; it must wait for the
        # first (row lock / SQLite write lock), then find the row changed under it.
        reached_flush = threading.Event()
        event.listen(second, "before_flush", lambda *a: reached_flush.set())
        outcome = {}

        def other():
            try:
                services.perform_step(second, registry, case_id, admin, "simpan", {"kanal": "sms"},
                                      expected_version=v2)
                second.commit()
                outcome["result"] = "committed"
            except Exception as exc:  # noqa: BLE001 - inspected below
                second.rollback()
                outcome["result"] = exc

        thread = threading.Thread(target=other)
        thread.start()
        reached_flush.wait(timeout=30)
        first.commit()
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert isinstance(outcome["result"], CaseMovedOn), outcome
        # it passed the version check (it read the case before the first committed) and lost at the write
        assert "at the same moment" in str(outcome["result"])
    finally:
        first.close()
        second.close()
    row = case_row(factory, case_id)
    assert (row.state, row.version, row.data["kanal"]) == ("verifikasi_laporan", 2, "web")
    assert [h.seq for h in entries(factory, case_id)] == [1, 2]


def test_second_session_without_expected_version_cannot_redo_the_step(factory, registry, actors):
    case_id, _ = start(factory, registry)
    admin = actors["admin_utama"]
    with factory() as a, factory() as b:
        a.get(Case, case_id)
        b.get(Case, case_id)
        services.perform_step(a, registry, case_id, admin, "simpan", {"kanal": "web"}, expected_version=None)
        a.commit()
        with pytest.raises((CaseMovedOn, NotAllowed)):
            services.perform_step(b, registry, case_id, admin, "simpan", {"kanal": "sms"}, expected_version=None)
        b.rollback()
    assert [h.seq for h in entries(factory, case_id)] == [1, 2]


# -- branches --------------------------------------------------------------------------------------
def test_not_valid_ends_with_the_public_message(factory, registry, actors):
    case_id, code = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 1)
    act(factory, registry, case_id, actors["admin_utama"], "tidak_valid", {"alasan_tidak_valid": "Laporan ganda"})
    row = case_row(factory, case_id)
    assert row.state == "tidak_valid" and row.closed_at is not None and row.unit_id is None
    with factory() as s:
        view = services.track(s, registry, code)
    assert view.finished
    assert display(view.status) == "Ditutup, laporan tidak valid"
    assert display(view.public_message) == "Laporan tidak dapat ditindaklanjuti. Lihat alasan di bawah."
    assert display(view.public_message, "en") == "The report cannot be followed up. See the reason below."
    assert ("alasan_tidak_valid", "Laporan ganda") in [(f.id, v) for f, v in view.answers]


def test_not_forwarded_ends_with_the_public_message(factory, registry, actors):
    case_id, code = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 3)
    with pytest.raises(InvalidForm):
        act(factory, registry, case_id, actors["kadis"], "tidak_teruskan", {})
    act(factory, registry, case_id, actors["kadis"], "tidak_teruskan", {"alasan_tidak_diteruskan": "Bukan wewenang"})
    assert case_row(factory, case_id).state == "tidak_diteruskan"
    with factory() as s:
        view = services.track(s, registry, code)
    assert view.finished and view.closed_at is not None
    assert display(view.public_message) == "Laporan tidak diteruskan ke OPD. Lihat alasan di bawah."
    assert ("alasan_tidak_diteruskan", "Bukan wewenang") in [(f.id, v) for f, v in view.answers]


def test_returns_for_revision(factory, registry, actors):
    case_id, _ = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 6)
    act(factory, registry, case_id, actors["kadis_opd.dinkes"], "kembalikan", {"catatan_kadis_opd": "Lengkapi"})
    assert case_row(factory, case_id).state == "koordinasi_jawaban"
    assert case_id in waiting_ids(factory, registry, actors["pejabat_penghubung.dinkes"])
    with factory() as s:  # the answer already given is offered again
        view = services.case_view(s, registry, case_id, actors["pejabat_penghubung.dinkes"])
        assert view.initial == {"jawaban": "Akan ditambal"}
    act(factory, registry, case_id, actors["pejabat_penghubung.dinkes"], "ajukan", {"jawaban": "Versi 2"})
    act(factory, registry, case_id, actors["kadis_opd.dinkes"], "setujui", {})
    act(factory, registry, case_id, actors["operator_opd.dinkes"], "kirim", {"jawaban": "Versi 2"})
    act(factory, registry, case_id, actors["admin_utama"], "kembalikan_ke_opd", {"catatan_pengembalian": "Kurang"})
    row = case_row(factory, case_id)
    assert (row.state, row.unit_id) == ("kirim_jawaban_opd", "dinkes")
    assert case_id in waiting_ids(factory, registry, actors["operator_opd.dinkes"])
    assert case_id not in waiting_ids(factory, registry, actors["operator_opd.disdik"])
    assert [h.to_state for h in entries(factory, case_id)][-5:] == [
        "koordinasi_jawaban", "verifikasi_jawaban", "kirim_jawaban_opd", "teruskan_ke_pelapor", "kirim_jawaban_opd"]


# -- revisions of the definition -----------------------------------------------------------------------
def test_a_revision_does_not_change_running_cases(factory, registry, actors, tmp_path):
    old_case, _ = start(factory, registry)
    walk_to(factory, registry, actors, old_case, 1)

    text = LAPOR.read_text(encoding="utf-8")
    old_name = ("    name:\n      id: Verifikasi laporan masyarakat oleh Admin Utama\n"
                "      en: Verification of public reports by the Lead Administrator\n")
    assert text.count(old_name) == 1
    text = text.replace(old_name, "    name: Verifikasi dan klasifikasi laporan masyarakat\n")
    anchor = "    fields:\n      - id: catatan_verifikasi\n"
    assert text.count(anchor) == 1
    text = text.replace(anchor, "    fields:\n      - id: prioritas\n        type: select\n        label: Prioritas\n"
                                "        required: true\n        options: [biasa, mendesak]\n"
                                "      - id: catatan_verifikasi\n")
    (tmp_path / "laporisp4n.yaml").write_text(text, encoding="utf-8")
    revised = Registry.from_directory(tmp_path)
    with transaction(factory) as s:
        services.publish_all(s, revised)
        assert s.scalar(select(func.count()).select_from(Definition).where(Definition.sop_id == "laporisp4n")) == 2

    new_case, _ = start(factory, revised)
    walk_to(factory, revised, actors, new_case, 1)
    old_row, new_row = case_row(factory, old_case), case_row(factory, new_case)
    assert old_row.definition_id != new_row.definition_id
    assert old_row.definition.version == registry.get("laporisp4n").version
    assert new_row.definition.version == revised.get("laporisp4n").version

    admin = actors["admin_utama"]
    with factory() as s:
        old_view = services.case_view(s, revised, old_case, admin)
        new_view = services.case_view(s, revised, new_case, admin)
        assert display(old_view.activity.name) == "Verifikasi laporan masyarakat oleh Admin Utama"
        assert display(new_view.activity.name) == "Verifikasi dan klasifikasi laporan masyarakat"
        assert "prioritas" not in old_view.initial and "prioritas" in new_view.initial
        rows = {r.id: display(r.step) for r in services.waiting(s, revised, admin)}
        assert rows == {old_case: "Verifikasi laporan masyarakat oleh Admin Utama",
                        new_case: "Verifikasi dan klasifikasi laporan masyarakat"}
    # the old case keeps its old rules: no priority asked; the new one must have it
    act(factory, revised, old_case, admin, "valid", {})
    with pytest.raises(InvalidForm) as info:
        act(factory, revised, new_case, admin, "valid", {})
    assert set(info.value.errors) == {"prioritas"}
    act(factory, revised, new_case, admin, "valid", {"prioritas": "mendesak"})
    assert case_row(factory, old_case).definition_id == old_row.definition_id
    # publishing the same text again stores nothing new
    with transaction(factory) as s:
        services.publish_all(s, revised)
        services.publish_all(s, registry)
        assert s.scalar(select(func.count()).select_from(Definition).where(Definition.sop_id == "laporisp4n")) == 2


def test_an_unpublished_file_does_not_change_what_cases_start_on(factory, registry, tmp_path, seeded):
    # The database is the source of truth for the current version: a file edited on disk but not
    # yet loaded starts nothing; new cases start on the version published.
    shutil.copy(LAPOR, tmp_path / "laporisp4n.yaml")
    with open(tmp_path / "laporisp4n.yaml", "a", encoding="utf-8") as f:
        f.write("# edited on disk, not yet loaded\n")
    edited = Registry.from_directory(tmp_path)
    with transaction(factory) as s:
        case = services.start_case(s, edited, "laporisp4n", "pengaduan", REPORT, actor=PELAPOR)
        assert case.definition.version == registry.get("laporisp4n").version != edited.get("laporisp4n").version


# -- the monthly schedule ----------------------------------------------------------------------------
def test_tick_opens_last_month_once(factory, registry, actors):
    # 00:30 on 1 December in Putussibau is still 30 November in UTC: the month just ended is November.
    now = dt.datetime(2026, 12, 1, 0, 30, tzinfo=WIB)
    with transaction(factory) as s:
        opened = services.tick(s, registry, now=now)
        assert [(c.flow, c.period, c.state, c.tracking_code) for c in opened] == [
            ("rekap_bulanan", "2026-11", "rekap_laporan", None)]
        assert opened[0].title == "Rekap dan arsip bulanan 2026-11"
        assert opened[0].due_at == dt.datetime(2026, 12, 4, 7, 30, tzinfo=WIB)  # 3 Hari from Tuesday's opening
        case_id = opened[0].id
    with transaction(factory) as s:
        assert services.tick(s, registry, now=now) == []
        assert services.tick(s, registry, now=now + dt.timedelta(days=10)) == []
    assert case_id in waiting_ids(factory, registry, actors["admin_utama"])
    assert [h.actor_name for h in entries(factory, case_id)] == ["sop tick"]
    with transaction(factory) as s:
        later = services.tick(s, registry, now=dt.datetime(2027, 1, 1, 8, 0, tzinfo=WIB))
        assert [c.period for c in later] == ["2026-12"]
    with factory() as s:
        periods = s.scalars(select(Case.period).where(Case.flow == "rekap_bulanan").order_by(Case.period)).all()
        assert periods == ["2026-11", "2026-12"]
    # the monthly case runs its two activities to the archive
    act(factory, registry, case_id, actors["admin_utama"], "sampaikan", {"ringkasan_rekap": "3 laporan"})
    act(factory, registry, case_id, actors["admin_utama"], "arsipkan", {"lokasi_arsip": "Lemari 2"})
    assert case_row(factory, case_id).state == "terarsip"


def test_period_figures(factory, registry, actors):
    sop = registry.get("laporisp4n")
    nov = dt.datetime(2026, 11, 2, 9, 0, tzinfo=WIB)
    a, _ = start(factory, registry, now=nov)  # stays at step 1, overdue by the end of the month
    b, _ = start(factory, registry, now=nov)  # not valid: finished
    walk_to(factory, registry, actors, b, 1, now=nov)
    act(factory, registry, b, actors["admin_utama"], "tidak_valid", {"alasan_tidak_valid": "Spam"}, now=nov)
    c, _ = start(factory, registry, now=nov)  # forwarded to dinkes, at step 6 (advisory limit)
    walk_to(factory, registry, actors, c, 5, now=nov)
    d, _ = start(factory, registry, now=dt.datetime(2026, 11, 30, 23, 30, tzinfo=WIB))  # still November locally
    e, _ = start(factory, registry, now=dt.datetime(2026, 12, 1, 0, 30, tzinfo=WIB))  # December locally
    with transaction(factory) as s:
        services.tick(s, registry, now=dt.datetime(2026, 11, 15, 9, 0, tzinfo=WIB))  # a monthly case: not a report

    end_of_month = dt.datetime(2026, 11, 30, 20, 0, tzinfo=WIB)
    with factory() as s:
        fig = services.period_figures(s, registry, sop, "2026-11", now=end_of_month)
    assert (fig.period, fig.received, fig.finished, fig.open) == ("2026-11", 4, 1, 3)
    assert fig.overdue == 1  # a; c's limit is advisory, d is not yet due
    assert {display(name): n for name, n in fig.by_state} == {
        "Input laporan masyarakat dari berbagai kanal LAPORISP4N": 2,
        "Ditutup, laporan tidak valid": 1,
        "Koordinasi dan konsultasi Pejabat Penghubung kepada Kadis OPD untuk penyelesaian jawaban laporan": 1,
    }
    assert (display(fig.by_state[0][0]), fig.by_state[0][1]) == ("Input laporan masyarakat dari berbagai kanal LAPORISP4N", 2)
    assert dict(fig.by_unit) == {"Dinas Kesehatan": 1}
    with factory() as s:
        dec = services.period_figures(s, registry, sop, "2026-12", now=end_of_month)
        assert (dec.received, dec.finished, dec.open, dec.overdue) == (1, 0, 1, 0)
        empty = services.period_figures(s, registry, sop, "2026-10", now=end_of_month)
        assert (empty.received, empty.by_state, empty.by_unit) == (0, (), ())


# -- public tracking ---------------------------------------------------------------------------------------
def test_track_shows_only_public_fields(factory, registry, actors):
    case_id, code = start(factory, registry)
    walk_to(factory, registry, actors, case_id, 9)
    with factory() as s:
        view = services.track(s, registry, code)
    answers = {f.id: v for f, v in view.answers}
    assert answers == {"judul": REPORT["judul"], "jawaban_akhir": "Jalan sudah ditambal"}
    shown = repr(view)
    for private in ("Budi", "0812345678", REPORT["isi_laporan"], "Akan ditambal", "Tindak lanjuti", "dinkes"):
        assert private not in shown, private
    assert view.code == code and view.finished and display(view.status) == "Selesai, jawaban telah diteruskan kepada pelapor"
    assert display(view.public_message) == ""
    # the reporter reads the statuses written for them, never the internal activity names, and a
    # step inside the OPD that changes nothing for them is not repeated
    statuses = [display(name) for _, name in view.steps]
    assert statuses[0] == "Laporan diterima dan sedang dicatat"
    assert "Input laporan masyarakat dari berbagai kanal LAPORISP4N" not in shown
    assert statuses.count("Laporan sedang ditindaklanjuti oleh perangkat daerah terkait") == 1
    assert statuses[-1] == "Selesai, jawaban telah diteruskan kepada pelapor"
    assert len(statuses) == len(set(statuses))


def test_track_normalises_the_code(factory, registry, seeded):
    case_id, code = start(factory, registry)
    assert len(code) == 14 and code.count("-") == 2
    for typed in (code, code.lower(), code.replace("-", ""), " " + code.replace("-", " ").lower() + " "):
        with factory() as s:
            assert services.track(s, registry, typed).code == code, typed


@pytest.mark.parametrize("typed", ["", "ABCD-EFGH-JKLM", "ABCD", "'; DROP TABLE cases; --"])
def test_track_unknown_code_is_not_found(factory, registry, typed, seeded):
    start(factory, registry)
    with factory() as s, pytest.raises(NotFound):
        services.track(s, registry, typed)


def test_tracking_codes_differ(factory, registry, seeded):
    codes = {start(factory, registry)[1] for _ in range(5)}
    assert len(codes) == 5
