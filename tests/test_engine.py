"""The engine on the LAPOR definition: who may do what at each step, where each action leads."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from conftest import REPORT
from runner.engine import NEW, Actor, Engine
from runner.errors import InvalidForm, NotAllowed

WIB = ZoneInfo("Asia/Pontianak")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=WIB)  # a Monday, inside office hours
UNITS = {"dinkes": "Dinas Kesehatan", "disdik": "Dinas Pendidikan dan Kebudayaan"}


def person(role: str, unit: str | None = None, uid: int = 1) -> Actor:
    return Actor(uid, role, frozenset({role}), unit)


ADMIN = person("admin_utama")
KADIS = person("kadis")
KABID = person("kabid")
KASI = person("kasi")
OPERATOR = person("operator_opd", "dinkes")
PENGHUBUNG = person("pejabat_penghubung", "dinkes")
KADIS_OPD = person("kadis_opd", "dinkes")
OPERATOR_DISDIK = person("operator_opd", "disdik")
PELAPOR = Actor.public("pelapor")
EVERYONE = {"admin_utama": ADMIN, "kadis": KADIS, "kabid": KABID, "kasi": KASI, "operator_opd": OPERATOR,
            "pejabat_penghubung": PENGHUBUNG, "kadis_opd": KADIS_OPD, "pelapor": PELAPOR}

# activity -> (the role that performs it, its actions in order)
OPEN = {
    "input_laporan": ("admin_utama", ("simpan",)),
    "verifikasi_laporan": ("admin_utama", ("valid", "tidak_valid")),
    "sampaikan_ke_pimpinan": ("admin_utama", ("sampaikan",)),
    "disposisi_pimpinan": ("kadis", ("teruskan", "tidak_teruskan")),
    "terima_disposisi": ("operator_opd", ("teruskan_ke_penghubung", "bukan_wewenang")),  # or back to step 4
    "koordinasi_jawaban": ("pejabat_penghubung", ("ajukan",)),
    "verifikasi_jawaban": ("kadis_opd", ("setujui", "kembalikan")),
    "kirim_jawaban_opd": ("operator_opd", ("kirim",)),
    "teruskan_ke_pelapor": ("admin_utama", ("teruskan", "kembalikan_ke_opd")),
    "rekap_laporan": ("admin_utama", ("sampaikan",)),
    "arsip_laporan": ("admin_utama", ("arsipkan",)),
}


@pytest.fixture(scope="module")
def sop(registry):
    return registry.get("laporisp4n")


@pytest.fixture(scope="module")
def engine(registry, sop):
    return registry.engine(sop)


def do(engine, state, actor, action, data=None, unit="dinkes", now=NOW):
    return engine.perform(state, unit, actor, action, data or {}, now, UNITS)


# -- one machine per definition ---------------------------------------------------------------------
def test_registry_builds_one_engine_per_version(registry, sop, engine):
    assert registry.engine(sop) is engine
    assert registry.engine(sop) is registry.engine(sop)
    assert registry.engine_for_version(sop.version, registry.source(sop)) is engine


def test_the_machine_is_shared_and_keeps_no_cases(engine):
    machine = engine.machine
    for _ in range(3):
        step = do(engine, "input_laporan", ADMIN, "simpan", {"kanal": "web"})
        assert step.target == "verifikasi_laporan"
    assert engine.machine is machine
    assert list(machine.models) == []


def test_states_and_triggers_come_from_the_definition(sop, engine):
    states = set(engine.machine.states)
    assert states == {a.id for a in sop.activities} | {"selesai", "tidak_valid", "tidak_diteruskan", "terarsip", NEW}
    triggers = {name for name in engine.machine.events}
    assert triggers == {f"{a}__{x}" for a, (_, actions) in OPEN.items() for x in actions} | {
        "start__pengaduan", "start__rekap_bulanan"}


def test_no_string_callbacks_reach_transitions(engine):
    """A string would make transitions resolve (and import) a dotted name from the YAML."""
    machine = engine.machine
    count = 0
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                count += 1
                assert t.conditions, name
                for c in t.conditions:
                    assert callable(c.func) and not isinstance(c.func, str), name
                    assert c.target is True
                assert len(t.before) == 1 and len(t.after) == 1 and t.prepare == []
                assert all(callable(f) and not isinstance(f, str) for f in [*t.before, *t.after]), name
    assert count == sum(len(actions) for _, actions in OPEN.values()) + 2  # and one start per flow
    for state in machine.states.values():
        assert state.on_enter == [] and state.on_exit == []
    assert machine.before_state_change == [] and machine.after_state_change == []
    assert machine.prepare_event == [] and machine.finalize_event == []


# -- who may act --------------------------------------------------------------------------------------
@pytest.mark.parametrize("activity", list(OPEN))
@pytest.mark.parametrize("role", list(EVERYONE))
def test_open_actions_per_role(engine, activity, role):
    performer, actions = OPEN[activity]
    open_now = [a.id for a in engine.open_actions(activity, "dinkes", EVERYONE[role])]
    assert open_now == (list(actions) if role == performer else [])


@pytest.mark.parametrize("activity", ["terima_disposisi", "koordinasi_jawaban", "verifikasi_jawaban", "kirim_jawaban_opd"])
def test_unit_scoped_steps_are_open_only_to_the_cases_unit(engine, activity):
    role, _ = OPEN[activity]
    assert engine.open_actions(activity, "dinkes", person(role, "dinkes"))
    assert engine.open_actions(activity, "disdik", person(role, "dinkes")) == ()
    assert engine.open_actions(activity, None, person(role, "dinkes")) == ()
    assert engine.open_actions(activity, "dinkes", person(role, None)) == ()


def test_nothing_is_open_at_an_end(engine):
    for end in ("selesai", "tidak_valid", "tidak_diteruskan", "terarsip"):
        for actor in EVERYONE.values():
            assert engine.open_actions(end, "dinkes", actor) == ()


def test_someone_with_two_roles_acts_under_the_one_the_step_needs(engine):
    both = Actor(7, "Rangkap", frozenset({"kabid", "kadis"}))
    step = do(engine, "disposisi_pimpinan", both, "tidak_teruskan", {"alasan_tidak_diteruskan": "Bukan wewenang"})
    assert step.acting_role == "kadis"


def test_wrong_role_is_refused(engine):
    with pytest.raises(NotAllowed) as info:
        do(engine, "disposisi_pimpinan", KABID, "teruskan", {"opd_tujuan": "dinkes"})
    assert str(info.value) == "step 4 is performed by Kadis"
    with pytest.raises(NotAllowed):
        do(engine, "input_laporan", PELAPOR, "simpan", {"kanal": "web"})


def test_unit_scoped_role_of_another_unit_is_refused(engine):
    with pytest.raises(NotAllowed) as info:
        do(engine, "terima_disposisi", OPERATOR_DISDIK, "teruskan_ke_penghubung", unit="dinkes")
    assert str(info.value) == "step 5 is performed by Operator OPD of Dinas Kesehatan"
    assert do(engine, "terima_disposisi", OPERATOR, "teruskan_ke_penghubung", unit="dinkes").target == "koordinasi_jawaban"


def test_unknown_action_and_finished_case_are_refused(engine):
    with pytest.raises(NotAllowed) as info:
        do(engine, "input_laporan", ADMIN, "hapus")
    assert "not an action of step 1" in str(info.value) and "hapus" not in str(info.value)
    with pytest.raises(NotAllowed) as info:
        do(engine, "selesai", ADMIN, "teruskan")
    assert "finished" in str(info.value)
    # an action of another step is not an action of this one
    with pytest.raises(NotAllowed):
        do(engine, "input_laporan", ADMIN, "valid")


# -- forms ----------------------------------------------------------------------------------------------
def test_form_errors_raise_invalid_form_and_move_nothing(engine):
    with pytest.raises(InvalidForm) as info:
        do(engine, "input_laporan", ADMIN, "simpan", {"kanal": "telepati"})
    assert {k: e.code for k, e in info.value.errors.items()} == {"kanal": "not_option"}
    with pytest.raises(InvalidForm) as info:
        do(engine, "koordinasi_jawaban", PENGHUBUNG, "ajukan", {"jawaban": "  "})
    assert info.value.errors["jawaban"].code == "required"
    # the same step, corrected, still goes where it should: the refused attempt changed nothing
    assert do(engine, "input_laporan", ADMIN, "simpan", {"kanal": "sms"}).target == "verifikasi_laporan"
    assert list(engine.machine.models) == []


def test_action_requires_its_own_fields(engine):
    with pytest.raises(InvalidForm) as info:
        do(engine, "verifikasi_laporan", ADMIN, "tidak_valid", {})
    assert set(info.value.errors) == {"alasan_tidak_valid"}
    # the other action of the same step does not need it
    assert do(engine, "verifikasi_laporan", ADMIN, "valid", {}).target == "sampaikan_ke_pimpinan"


def test_the_machine_itself_refuses(engine, monkeypatch):
    """transitions' conditions are the only guard: forced to pass, the wrong role gets through."""
    from transitions.core import Condition

    with pytest.raises(NotAllowed):
        do(engine, "input_laporan", KADIS, "simpan", {"kanal": "web"})
    monkeypatch.setattr(Condition, "check", lambda self, event_data: True)
    assert do(engine, "input_laporan", KADIS, "simpan", {"kanal": "web"}).target == "verifikasi_laporan"
    assert [a.id for a in engine.open_actions("input_laporan", None, KADIS)] == ["simpan"]


def test_refusal_says_who_may_act(engine):
    with pytest.raises(NotAllowed) as info:
        do(engine, "terima_disposisi", OPERATOR_DISDIK, "teruskan_ke_penghubung")
    assert "Operator" in str(info.value) and "Dinas Kesehatan" in str(info.value)
    assert info.value.unit == "Dinas Kesehatan" and info.value.roles


def test_refusal_comes_before_form_checks(engine):
    # someone who may not act learns that, not what the form lacks
    with pytest.raises(NotAllowed):
        do(engine, "input_laporan", KADIS, "simpan", {"kanal": "telepati"})


# -- the paths through the SOP ----------------------------------------------------------------------
def test_start_a_report(engine, sop):
    flow = sop.flow("pengaduan")
    step = engine.start(flow, PELAPOR, REPORT, NOW)
    assert (step.target, step.acting_role, step.flow) == ("input_laporan", "pelapor", flow)
    assert step.values["judul"] == REPORT["judul"] and step.values["lokasi"] is None
    assert engine.start(flow, ADMIN, REPORT, NOW).acting_role == "admin_utama"
    with pytest.raises(NotAllowed):
        engine.start(flow, KADIS, REPORT, NOW)
    with pytest.raises(NotAllowed):
        engine.start(flow, None, REPORT, NOW)  # the scheduler does not file reports
    with pytest.raises(InvalidForm) as info:
        engine.start(flow, PELAPOR, {"judul": "x"}, NOW)
    assert set(info.value.errors) == {"isi_laporan", "nama_pelapor"}


def test_only_the_scheduler_starts_the_monthly_flow(engine, sop):
    flow = sop.flow("rekap_bulanan")
    step = engine.start(flow, None, {}, NOW)
    assert (step.target, step.acting_role) == ("rekap_laporan", "")
    with pytest.raises(NotAllowed):
        engine.start(flow, ADMIN, {}, NOW)


HAPPY_PATH = [
    # state, actor, action, data, next state
    ("input_laporan", ADMIN, "simpan", {"kanal": "web"}, "verifikasi_laporan"),
    ("verifikasi_laporan", ADMIN, "valid", {"catatan_verifikasi": "Lengkap"}, "sampaikan_ke_pimpinan"),
    ("sampaikan_ke_pimpinan", ADMIN, "sampaikan", {}, "disposisi_pimpinan"),
    ("disposisi_pimpinan", KADIS, "teruskan", {"opd_tujuan": "dinkes"}, "terima_disposisi"),
    ("terima_disposisi", OPERATOR, "teruskan_ke_penghubung", {}, "koordinasi_jawaban"),
    ("koordinasi_jawaban", PENGHUBUNG, "ajukan", {"jawaban": "Akan diperbaiki"}, "verifikasi_jawaban"),
    ("verifikasi_jawaban", KADIS_OPD, "setujui", {}, "kirim_jawaban_opd"),
    ("kirim_jawaban_opd", OPERATOR, "kirim", {"jawaban": "Diperbaiki pekan depan"}, "teruskan_ke_pelapor"),
    ("teruskan_ke_pelapor", ADMIN, "teruskan", {"jawaban_akhir": "Jalan diperbaiki pekan depan"}, "selesai"),
]


def test_walk_every_activity_to_selesai(engine):
    state, unit = "input_laporan", None
    seen = []
    for source, actor, action, data, target in HAPPY_PATH:
        assert state == source
        step = engine.perform(state, unit, actor, action, data, NOW, UNITS)
        assert (step.source, step.target) == (source, target)
        assert step.acting_role == next(iter(actor.roles))
        assert step.finished is (target == "selesai")
        seen.append(step.activity.no)
        state, unit = step.target, step.unit
        if source == "disposisi_pimpinan":
            assert unit == "dinkes"  # the disposition gives the case to the chosen OPD
    assert seen == list(range(1, 10))
    assert (state, unit) == ("selesai", "dinkes")


def test_disposition_to_an_unknown_unit_is_refused(engine):
    with pytest.raises(InvalidForm) as info:
        do(engine, "disposisi_pimpinan", KADIS, "teruskan", {"opd_tujuan": "bappeda"}, unit=None)
    assert info.value.errors["opd_tujuan"].code == "not_unit"
    with pytest.raises(InvalidForm) as info:
        do(engine, "disposisi_pimpinan", KADIS, "teruskan", {}, unit=None)
    assert info.value.errors["opd_tujuan"].code == "required"


def test_disposition_not_forwarded(engine):
    step = do(engine, "disposisi_pimpinan", KADIS, "tidak_teruskan", {"alasan_tidak_diteruskan": "Bukan wewenang daerah"},
              unit=None)
    assert (step.target, step.finished, step.unit, step.due_at) == ("tidak_diteruskan", True, None, None)
    with pytest.raises(InvalidForm):
        do(engine, "disposisi_pimpinan", KADIS, "tidak_teruskan", {}, unit=None)


def test_verification_not_valid(engine):
    step = do(engine, "verifikasi_laporan", ADMIN, "tidak_valid", {"alasan_tidak_valid": "Spam"}, unit=None)
    assert (step.target, step.finished) == ("tidak_valid", True)
    assert step.values["alasan_tidak_valid"] == "Spam"


def test_returns_for_revision(engine):
    back = do(engine, "verifikasi_jawaban", KADIS_OPD, "kembalikan", {"catatan_kadis_opd": "Lengkapi data"})
    assert (back.target, back.unit, back.finished) == ("koordinasi_jawaban", "dinkes", False)
    with pytest.raises(InvalidForm):
        do(engine, "verifikasi_jawaban", KADIS_OPD, "kembalikan", {})
    back = do(engine, "teruskan_ke_pelapor", ADMIN, "kembalikan_ke_opd", {"catatan_pengembalian": "Kurang jelas"})
    assert (back.target, back.unit) == ("kirim_jawaban_opd", "dinkes")
    # and the step returned to is open again to its performer of that unit
    assert [a.id for a in engine.open_actions(back.target, back.unit, OPERATOR)] == ["kirim"]


def test_monthly_flow(engine):
    step = do(engine, "rekap_laporan", ADMIN, "sampaikan", {"ringkasan_rekap": "12 laporan"}, unit=None)
    assert step.target == "arsip_laporan"
    step = do(engine, "arsip_laporan", ADMIN, "arsipkan", {"lokasi_arsip": "Lemari 2"}, unit=None)
    assert (step.target, step.finished) == ("terarsip", True)


# -- due times --------------------------------------------------------------------------------------------
def test_due_times_use_the_calendar(engine):
    # Monday 10:00 + 7,5 jam for verification: Tuesday 10:00 WIB
    step = do(engine, "input_laporan", ADMIN, "simpan", {"kanal": "web"})
    assert step.due_at == dt.datetime(2026, 12, 1, 10, 0, tzinfo=WIB)
    assert step.due_at.tzinfo == dt.timezone.utc and step.due_advisory is False
    # Friday 16:15 + 30 menit for the OPD operator: 15 minutes on Friday (open to 16:30), 15 on Monday
    friday = dt.datetime(2026, 12, 4, 16, 15, tzinfo=WIB)
    step = do(engine, "disposisi_pimpinan", KADIS, "teruskan", {"opd_tujuan": "dinkes"}, unit=None, now=friday)
    assert step.due_at == dt.datetime(2026, 12, 7, 7, 45, tzinfo=WIB)
    # Christmas: Wednesday 23 Dec 15:30 + 1 jam (step 3) runs into Monday 28 Dec
    step = do(engine, "verifikasi_laporan", ADMIN, "valid", {}, unit=None,
              now=dt.datetime(2026, 12, 23, 15, 30, tzinfo=WIB))
    assert step.due_at == dt.datetime(2026, 12, 28, 8, 0, tzinfo=WIB)


def test_advisory_limits_are_marked(engine):
    step = do(engine, "sampaikan_ke_pimpinan", ADMIN, "sampaikan", {}, unit=None)
    assert step.due_advisory is True  # step 4: "menyesuaikan kesediaan pimpinan"
    assert step.due_at == dt.datetime(2026, 11, 30, 16, 0, tzinfo=WIB)  # 5 jam from Monday 10:00
    step = do(engine, "terima_disposisi", OPERATOR, "teruskan_ke_penghubung", {})
    assert step.due_advisory is True  # step 6: 4 hari
    assert step.due_at == dt.datetime(2026, 12, 4, 10, 0, tzinfo=WIB)


def test_start_sets_the_first_due_time(engine, sop):
    step = engine.start(sop.flow("pengaduan"), PELAPOR, REPORT, dt.datetime(2026, 12, 5, 9, 0, tzinfo=WIB))
    assert step.due_at == dt.datetime(2026, 12, 7, 16, 0, tzinfo=WIB)  # Saturday: Monday 07:30 + 7,5 jam


def test_engine_is_independent_of_the_registry(sop):
    engine = Engine(sop)
    assert engine.machine is not None
    assert engine.perform("input_laporan", None, ADMIN, "simpan", {"kanal": "sms"}, NOW, UNITS).target == \
        "verifikasi_laporan"
