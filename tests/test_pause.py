"""Putting a step on hold (Tunda) and resuming it: the clock, the history, the pages, the refusals.

On SQLite and PostgreSQL (the ``db_url`` fixture); every web request is built from the page a
browser would have loaded (web_helpers.Visitor), CSRF on.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from conftest import LAPOR, REPORT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from web_helpers import (
    advance,
    case_id_for_code,
    case_row,
    csrf_token,
    form_with,
    history_count,
    text_of,
)

from runner import services
from runner.definition import load_file
from runner.errors import CaseMovedOn, InvalidInput, NotAllowed, StepOnHold
from runner.services import pauses
from runner.store import Case, HistoryEntry, transaction

WIB = ZoneInfo("Asia/Pontianak")
CAL = load_file(LAPOR).calendar
PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"
REASON_LABEL = "Menunggu kelengkapan data dari pelapor"
NOTE = "Sudah ditelepon, pelapor mengirim foto besok."  # staff text: never on the tracking page


# -- the clock, on the LAPOR calendar ---------------------------------------------------------------
moments = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 20)) \
    .map(lambda d: d.replace(second=0, microsecond=0, tzinfo=WIB))


@settings(max_examples=300, deadline=None)
@given(due=moments, paused=moments, length=st.integers(0, 60 * 24 * 40))
def test_resuming_moves_the_due_time_by_exactly_the_working_time_paused(due, paused, length):
    resumed = paused + dt.timedelta(minutes=length)
    left = pauses.minutes_left(CAL, due, paused)  # negative when already overdue at the pause
    new_due = pauses.due_after_resume(CAL, left, resumed)
    assert CAL.working_minutes_between(due, new_due) == CAL.working_minutes_between(paused, resumed)
    # what was left is left again (or, paused when late, it is exactly as late as it was)
    assert CAL.working_minutes_between(resumed, new_due) == left


# -- through the services (the stored case) --------------------------------------------------------
def _at_verification(factory, registry, actor, now: dt.datetime) -> int:
    """A report at step 2 (verification, 7,5 jam, pausable), step 1 done at ``now``."""
    with transaction(factory) as s:
        case = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=actor("admin_utama"),
                                   now=now)
        case_id = case.id
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor("admin_utama"), "simpan", {"kanal": "sms"},
                              expected_version=None, now=now)
    return case_id


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(start=moments, after=st.integers(0, 60 * 24 * 6), length=st.integers(0, 60 * 24 * 20))
def test_a_stored_pause_moves_the_due_time_by_the_working_time_paused(factory, registry, actor, start, after,
                                                                       length):
    case_id = _at_verification(factory, registry, actor, start)
    due = case_row(factory, case_id).due_at
    paused, resumed = start + dt.timedelta(minutes=after), start + dt.timedelta(minutes=after + length)
    admin = actor("admin_utama")
    with transaction(factory) as s:
        pauses.pause_case(s, registry, case_id, admin, "menunggu_pelapor", expected_version=2, now=paused)
    row = case_row(factory, case_id)
    assert row.paused_at == paused and row.pause_reason == "menunggu_pelapor"
    assert row.remaining_minutes == CAL.working_minutes_between(paused, due)
    with transaction(factory) as s:
        pauses.resume_case(s, registry, case_id, admin, expected_version=3, now=resumed)
    row = case_row(factory, case_id)
    assert row.paused_at is None and row.remaining_minutes is None and row.version == 4
    assert CAL.working_minutes_between(due, row.due_at) == CAL.working_minutes_between(paused, resumed)


def test_history_keeps_both_moments_and_check_db_stays_clean(factory, registry, actor):
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=WIB)
    case_id = _at_verification(factory, registry, actor, monday)  # due Tuesday 09:00
    admin = actor("admin_utama")
    with transaction(factory) as s:  # Monday 15:00: 150 working minutes left (Mon 15-16, Tue 07:30-09:00)
        pauses.pause_case(s, registry, case_id, admin, "menunggu_pelapor", NOTE, expected_version=2,
                          now=monday.replace(hour=15))
        assert services.check_database(s, registry) == []
    with transaction(factory) as s:  # resumed Friday 13:00: due 150 working minutes later
        pauses.resume_case(s, registry, case_id, admin, expected_version=3, now=dt.datetime(2026, 12, 4, 13, 0, tzinfo=WIB))
        assert services.check_database(s, registry) == []
    assert case_row(factory, case_id).due_at == dt.datetime(2026, 12, 4, 15, 30, tzinfo=WIB)
    with factory() as s:
        rows = s.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id).order_by(HistoryEntry.seq)).all()
        assert [(r.action, r.from_state, r.to_state) for r in rows[2:]] == [
            ("__paused", "verifikasi_laporan", "verifikasi_laporan"),
            ("__resumed", "verifikasi_laporan", "verifikasi_laporan")]
        assert rows[2].data == {"_pause_reason": "menunggu_pelapor", "_remaining_minutes": 150, "_pause_note": NOTE}
        assert rows[3].data["_paused_minutes"] == 60 + 3 * 450 + 240  # Mon 15:00 .. Fri 13:00 (Friday 07:30-11:30)
    with transaction(factory) as s:  # acting works again
        services.perform_step(s, registry, case_id, admin, "valid", {}, expected_version=4)


def test_check_db_finds_a_pause_the_history_does_not_tell(factory, registry, actor):
    case_id = _at_verification(factory, registry, actor, dt.datetime(2026, 11, 30, 9, 0, tzinfo=WIB))
    with transaction(factory) as s:  # a hand edit: on hold without a pause in the history
        s.get(Case, case_id).paused_at = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)
    with factory() as s:  # (the edit also moved the version past the history: reported too)
        assert f"case {case_id}: is on hold but its history has no pause after its last resumption" in \
            services.check_database(s, registry)


def test_paused_when_overdue_stays_exactly_as_late(factory, registry, actor):
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=WIB)
    case_id = _at_verification(factory, registry, actor, monday)  # due Tuesday 09:00
    admin = actor("admin_utama")
    with transaction(factory) as s:  # Tuesday 10:00: an hour late
        pauses.pause_case(s, registry, case_id, admin, "menunggu_pelapor", expected_version=2,
                          now=dt.datetime(2026, 12, 1, 10, 0, tzinfo=WIB))
    assert case_row(factory, case_id).remaining_minutes == -60
    with transaction(factory) as s:  # resumed Monday 08:00: due an hour of working time earlier
        pauses.resume_case(s, registry, case_id, admin, expected_version=3, now=dt.datetime(2026, 12, 7, 8, 0, tzinfo=WIB))
    # Monday 07:30-08:00 is 30 minutes; the other 30 are Friday 16:00-16:30
    assert case_row(factory, case_id).due_at == dt.datetime(2026, 12, 4, 16, 0, tzinfo=WIB)


def test_refusals(factory, registry, actor):
    case_id = _at_verification(factory, registry, actor, dt.datetime(2026, 11, 30, 9, 0, tzinfo=WIB))
    admin = actor("admin_utama")
    with transaction(factory) as s, pytest.raises(NotAllowed, match="step 2 is performed by Admin Utama"):
        pauses.pause_case(s, registry, case_id, actor("kabid"), "menunggu_pelapor", expected_version=2)
    with transaction(factory) as s, pytest.raises(InvalidInput, match="its reasons: menunggu_pelapor"):
        pauses.pause_case(s, registry, case_id, admin, "liburan", expected_version=2)
    with transaction(factory) as s, pytest.raises(NotAllowed, match="not on hold"):
        pauses.resume_case(s, registry, case_id, admin, expected_version=2)
    with transaction(factory) as s:
        pauses.pause_case(s, registry, case_id, admin, "menunggu_pelapor", expected_version=2)
    with transaction(factory) as s, pytest.raises(CaseMovedOn):  # a form rendered before the pause
        pauses.pause_case(s, registry, case_id, admin, "menunggu_pelapor", expected_version=2)
    with transaction(factory) as s, pytest.raises(StepOnHold, match="step 2 is on hold"):
        services.perform_step(s, registry, case_id, admin, "valid", {}, expected_version=3)
    assert history_count(factory, case_id) == 3 and case_row(factory, case_id).state == "verifikasi_laporan"
    advance_to_3 = case_id  # a step without pause_reasons cannot be paused
    with transaction(factory) as s:
        pauses.resume_case(s, registry, advance_to_3, admin, expected_version=3)
        services.perform_step(s, registry, advance_to_3, admin, "valid", {}, expected_version=4)
    with transaction(factory) as s, pytest.raises(NotAllowed, match="cannot be put on hold"):
        pauses.pause_case(s, registry, advance_to_3, admin, "menunggu_pelapor", expected_version=5)


# -- through the web --------------------------------------------------------------------------------
@pytest.fixture
def report_at(citizen, factory, registry, actor):
    def make(step: int) -> tuple[int, str]:
        r = citizen.submit(PUBLIC_FORM, REPORT, control="nonce")
        assert r.status_code == 302
        code = text_of(citizen.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
        case_id = case_id_for_code(factory, code)
        advance(factory, registry, actor, case_id, step)
        return case_id, code

    return make


def test_pause_and_resume_through_the_web(app, staff, citizen, report_at, factory):
    case_id, code = report_at(2)
    admin = staff("admin_utama")
    page = admin.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert 'data-testid="pause-form"' in page and REASON_LABEL in page
    r = admin.submit(f"/kasus/{case_id}", {"note": NOTE}, testid="pause-form")
    assert r.status_code == 302
    page = admin.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert text_of(page, "pause-reason") == REASON_LABEL
    assert 'data-testid="step-form"' not in page and 'data-testid="pause-form"' not in page  # nothing to act on
    assert 'data-testid="history-paused"' in page and NOTE in page
    inbox = admin.get("/kotak-masuk?tenggat=paused").get_data(as_text=True)
    assert f'data-case="{case_id}"' in inbox and 'data-deadline="paused"' in inbox

    track = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert REASON_LABEL in text_of(track, "on-hold") and NOTE not in track

    r = admin.submit(f"/kasus/{case_id}", testid="resume-form")
    assert r.status_code == 302
    page = admin.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert 'data-testid="paused"' not in page and 'data-testid="step-form"' in page
    assert 'data-testid="history-resumed"' in page
    assert 'data-testid="on-hold"' not in citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert admin.act(case_id, "valid").status_code == 302
    assert case_row(factory, case_id).state == "sampaikan_ke_pimpinan"


def test_in_english_too(app, staff, citizen, report_at):
    case_id, code = report_at(2)
    staff("admin_utama").submit(f"/kasus/{case_id}", testid="pause-form")
    page = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    citizen.post("/bahasa/en", {"csrf_token": csrf_token(page), "next": "/"})
    track = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert "Waiting for the reporter to complete the report" in text_of(track, "on-hold")


def test_stale_pause_and_resume_forms_are_409_and_save_nothing(app, staff, report_at, factory):
    case_id, _ = report_at(2)
    admin = staff("admin_utama")
    page = admin.get(f"/kasus/{case_id}")
    assert admin.submit(f"/kasus/{case_id}", testid="pause-form", page=page).status_code == 302
    again = admin.submit(f"/kasus/{case_id}", testid="pause-form", page=page)  # the same form, sent twice
    assert again.status_code == 409 and 'data-testid="moved-on"' in again.get_data(as_text=True)
    step = admin.act(case_id, "valid", page=page)  # the step form rendered before the pause
    assert step.status_code == 409
    assert history_count(factory, case_id) == 3

    paused_page = admin.get(f"/kasus/{case_id}")
    assert admin.submit(f"/kasus/{case_id}", testid="resume-form", page=paused_page).status_code == 302
    again = admin.submit(f"/kasus/{case_id}", testid="resume-form", page=paused_page)
    assert again.status_code == 409 and 'data-testid="moved-on"' in again.get_data(as_text=True)
    assert history_count(factory, case_id) == 4 and case_row(factory, case_id).paused_at is None


def test_acting_on_a_paused_step_is_refused_with_a_message(app, staff, report_at, factory):
    case_id, _ = report_at(2)
    admin = staff("admin_utama")
    admin.submit(f"/kasus/{case_id}", testid="pause-form")
    page = admin.get(f"/kasus/{case_id}").get_data(as_text=True)
    token_form = form_with(page, testid="resume-form")  # the current version and a CSRF token
    r = admin.post(f"/kasus/{case_id}", {**token_form.fields, "action": "valid", "step": "verifikasi_laporan"})
    assert r.status_code == 409 and 'data-testid="on-hold-refused"' in r.get_data(as_text=True)
    assert case_row(factory, case_id).state == "verifikasi_laporan" and history_count(factory, case_id) == 3


def test_wrong_role_or_reason_is_refused_and_nothing_changes(app, staff, report_at, factory):
    case_id, _ = report_at(2)
    kabid = staff("kabid")  # sees the case, does not perform step 2
    page = kabid.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert 'data-testid="pause-form"' not in page
    admin_form = form_with(staff("admin_utama").get(f"/kasus/{case_id}").get_data(as_text=True), testid="pause-form")
    r = kabid.post(f"/kasus/{case_id}/tunda", {"csrf_token": csrf_token(page), "version": "2",
                                                "reason": "menunggu_pelapor"})
    assert r.status_code == 403 and 'data-testid="refused"' in r.get_data(as_text=True)
    outsider = staff("operator_opd.disdik")  # may not even see it: the case does not exist for them
    token = csrf_token(outsider.get("/kotak-masuk").get_data(as_text=True))
    r = outsider.post(f"/kasus/{case_id}/lanjutkan", {"csrf_token": token, "version": "2"})
    assert r.status_code == 404
    r = staff("admin_utama").post(f"/kasus/{case_id}/tunda", {**admin_form.fields, "reason": "liburan"})
    assert r.status_code == 400 and 'data-testid="pause-invalid"' in r.get_data(as_text=True)
    assert history_count(factory, case_id) == 2 and case_row(factory, case_id).paused_at is None
