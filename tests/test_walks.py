"""Property: whatever anyone tries, in any order, a case only ever moves along the YAML's arrows.

Hypothesis drives random sequences of (person, action, form) attempts at one case through the
services on a real database. After every attempt: either it was refused with a clear error and
nothing changed, or the case moved along one of the current activity's actions, its version grew
by one and exactly one history row was added.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from conftest import REPORT
from runner import services
from runner.engine import Actor
from runner.errors import CaseMovedOn, InvalidForm, NotAllowed, NotFound
from runner.store import Case, HistoryEntry, transaction

PEOPLE = ["admin_utama", "kadis", "kabid", "kasi", "operator_opd.dinkes", "operator_opd.disdik",
          "pejabat_penghubung.dinkes", "kadis_opd.dinkes", "kadis_opd.dpupr"]
ACTIONS = ["simpan", "valid", "tidak_valid", "sampaikan", "teruskan", "tidak_teruskan", "teruskan_ke_penghubung",
           "ajukan", "setujui", "kembalikan", "kirim", "kembalikan_ke_opd", "bogus"]
FORM = st.fixed_dictionaries({}, optional={
    "kanal": st.sampled_from(["web", "sms", "fax"]),
    "opd_tujuan": st.sampled_from(["dinkes", "disdik", "nowhere"]),
    "alasan_tidak_valid": st.sampled_from(["", "Spam"]),
    "alasan_tidak_diteruskan": st.sampled_from(["", "Bukan kewenangan"]),
    "jawaban": st.sampled_from(["", "Jawaban"]),
    "catatan_kadis_opd": st.sampled_from(["", "Perbaiki"]),
    "catatan_pengembalian": st.sampled_from(["", "Kurang lengkap"]),
    "jawaban_akhir": st.sampled_from(["", "Selesai"]),
})


@pytest.fixture
def people(actor):
    return {p: actor(p) for p in PEOPLE}


def _snapshot(factory, case_id):
    with factory() as s:
        case = s.get(Case, case_id)
        rows = s.scalar(select(func.count()).select_from(HistoryEntry).where(HistoryEntry.case_id == case_id))
        return case.state, case.version, case.unit_id, rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_case_only_moves_along_the_definition(factory, registry, people, data):
    sop = registry.get("laporisp4n")
    engine = registry.engine(sop)
    with transaction(factory) as s:
        case_id = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT,
                                      actor=Actor.public("pelapor")).id
    for _ in range(data.draw(st.integers(1, 30), label="attempts")):
        state, version, unit, rows = _snapshot(factory, case_id)
        # Half the time someone who may act tries one of their open actions (so walks get deep);
        # otherwise anyone tries anything.
        able = [(p, a.id) for p in PEOPLE for a in engine.open_actions(state, unit, people[p])]
        if able and data.draw(st.booleans(), label="guided"):
            who, action = data.draw(st.sampled_from(able), label="move")
        else:
            who, action = data.draw(st.sampled_from(PEOPLE)), data.draw(st.sampled_from(ACTIONS))
        form = data.draw(FORM, label="form")
        try:
            with transaction(factory) as s:
                services.perform_step(s, registry, case_id, people[who], action, form, expected_version=version)
        except (NotAllowed, NotFound, InvalidForm, CaseMovedOn) as refused:
            assert str(refused)  # every refusal says why
            assert _snapshot(factory, case_id) == (state, version, unit, rows)
            continue
        new_state, new_version, new_unit, new_rows = _snapshot(factory, case_id)
        activity = sop.activity(state)
        assert activity is not None, "a finished case moved"
        chosen = activity.action(action)
        assert chosen is not None and new_state == chosen.to
        assert people[who].roles & set(activity.performers)
        assert (new_version, new_rows) == (version + 1, rows + 1)
        if chosen.assign_unit:
            assert new_unit == form[chosen.assign_unit]
        else:
            assert new_unit == unit
        if new_unit is not None and all(sop.role(r).unit_scoped for r in activity.performers):
            assert people[who].unit == unit  # unit-scoped work only by the case's own unit
