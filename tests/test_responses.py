"""The reporter's one response to the answer, and the public list of answered reports."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from runner import services
from runner.errors import AlreadyResponded, InvalidInput, NotAllowed, NotFound
from runner.privacy import ANONYMOUS_KEY, CONFIDENTIAL_KEY
from runner.services import responses
from runner.store import Case, HistoryEntry, transaction

from conftest import REPORT
from web_helpers import ANSWER, case_row, form_with

NOTE = "Catatan internal verifikasi: jangan dibaca publik."
SECRET_STORY = "Isi laporan yang hanya untuk petugas."


def file_report(factory, registry, actor, *, answered: bool = True, **extra) -> Case:
    """A report from the public form, walked to its answer (step 9 "teruskan") when ``answered``."""
    raw = {**REPORT, "isi_laporan": SECRET_STORY, **extra}
    with transaction(factory) as s:
        sop, flow, reporter = services.public_flow(s, registry, "laporisp4n", "pengaduan")
        case_id = services.start_case(s, registry, sop.id, flow.id, raw, actor=reporter).id
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor("admin_utama"), "simpan", {"kanal": "web"},
                              expected_version=None)
        services.perform_step(s, registry, case_id, actor("admin_utama"), "valid", {"catatan_verifikasi": NOTE},
                              expected_version=None)
    if answered:
        _rest(factory, registry, actor, case_id)
    return case_row(factory, case_id)


def _rest(factory, registry, actor, case_id: int) -> None:
    from web_helpers import STEPS

    for no, user, action, fields in STEPS[2:]:
        raw = {**fields, "jawaban": STEPS[5][3]["jawaban"]} if no == 8 else fields
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(user), action, raw, expected_version=None)


def responses_of(factory, case_id: int) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(HistoryEntry)
                        .where(HistoryEntry.case_id == case_id, HistoryEntry.action == responses.RESPONDED))


def english(visitor):
    with visitor.client.session_transaction() as s:
        s["lang"] = "en"
    return visitor


# -- the response ---------------------------------------------------------------------------------
def test_a_satisfied_response_is_recorded_once(app, citizen, factory, registry, actor):
    case = file_report(factory, registry, actor)
    english(citizen)
    page = citizen.get(f"/lacak?kode={case.tracking_code}")
    assert 'data-testid="response-form"' in page.get_data(as_text=True)
    r = citizen.submit(f"/lacak?kode={case.tracking_code}", {"tanggapan": "satisfied", "komentar": "Terima kasih."},
                       testid="response-form")
    assert r.status_code == 303
    after = citizen.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="response-recorded"' in after and 'data-verdict="satisfied"' in after
    assert 'data-testid="response-form"' not in after
    row = case_row(factory, case.id)
    assert row.state == "selesai" and row.closed_at is not None and row.version == case.version + 1
    assert responses_of(factory, case.id) == 1
    # The same form posted again: told plainly, nothing written.
    form = form_with(page.get_data(as_text=True), testid="response-form")
    again = citizen.post("/lacak/tanggapan", {**form.fields, "tanggapan": "not_satisfied", "komentar": "Lagi."})
    assert again.status_code == 409 and "once only" in again.get_data(as_text=True)
    assert responses_of(factory, case.id) == 1 and case_row(factory, case.id).state == "selesai"
    with factory() as s:
        assert services.check_database(s, registry) == []
    # Staff see the response on the case page.
    staff_page = english_staff(app).get(f"/kasus/{case.id}").get_data(as_text=True)
    assert 'data-testid="reporter-response"' in staff_page and "Terima kasih." in staff_page


def english_staff(app):
    from web_helpers import Visitor

    v = Visitor(app)
    v.login("admin_utama")
    return english(v)


def test_not_satisfied_reopens_the_case_where_the_definition_says(app, citizen, factory, registry, actor):
    from runner.services import outbox
    from runner.store import OutboxMessage, User

    case = file_report(factory, registry, actor)
    with transaction(factory) as s:
        outbox.set_account_email(s, s.scalar(select(User).where(User.username == "admin_utama")), "admin@example.com")

    def new_work() -> int:
        with factory() as s:
            return s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.case_id == case.id, OutboxMessage.kind == "staff.new_work",
                OutboxMessage.recipient == "admin@example.com"))

    before = new_work()
    english(citizen)
    missing = citizen.submit(f"/lacak?kode={case.tracking_code}", {"tanggapan": "not_satisfied", "komentar": ""},
                             testid="response-form")
    assert missing.status_code == 400 and "why the answer does not satisfy you" in missing.get_data(as_text=True)
    assert responses_of(factory, case.id) == 0
    r = citizen.submit(f"/lacak?kode={case.tracking_code}",
                       {"tanggapan": "not_satisfied", "komentar": "Lubangnya masih ada."}, testid="response-form")
    assert r.status_code == 303
    row = case_row(factory, case.id)
    assert row.state == "teruskan_ke_pelapor" and row.closed_at is None
    assert row.due_at is not None and row.due_at > row.updated_at and row.unit_id == "dinkes"
    assert new_work() == before + 1  # step 9's performer is emailed, as for any step entered
    # Admin Utama (step 9's performer) finds it in the inbox again, and may return it to the OPD.
    admin = english_staff(app)
    assert case.id in admin.inbox_ids()
    with transaction(factory) as s:
        services.perform_step(s, registry, case.id, actor("admin_utama"), "kembalikan_ke_opd",
                              {"catatan_pengembalian": "Pelapor belum puas."}, expected_version=None)
    with factory() as s:
        assert services.check_database(s, registry) == []
    _answer_again(factory, registry, actor, case.id)
    page = citizen.get(f"/lacak?kode={case.tracking_code}").get_data(as_text=True)
    assert 'data-testid="response-form"' not in page and 'data-verdict="not_satisfied"' in page


def _answer_again(factory, registry, actor, case_id: int) -> None:
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor("operator_opd.dinkes"), "kirim",
                              {"jawaban": "Sudah ditambal ulang."}, expected_version=None)
        services.perform_step(s, registry, case_id, actor("admin_utama"), "teruskan",
                              {"jawaban_akhir": ANSWER}, expected_version=None)


def test_no_response_before_the_answer_and_bad_input_is_refused(citizen, factory, registry, actor):
    case = file_report(factory, registry, actor, answered=False)
    english(citizen)
    assert 'data-testid="response-form"' not in citizen.get(f"/lacak?kode={case.tracking_code}").get_data(as_text=True)
    page = citizen.get("/lacak").get_data(as_text=True)
    from web_helpers import csrf_token

    token = csrf_token(page) if "csrf_token" in page else ""
    early = citizen.post("/lacak/tanggapan", {"csrf_token": token, "kode": case.tracking_code, "tanggapan": "satisfied"})
    assert early.status_code in (400, 409)
    with transaction(factory) as s:
        with pytest.raises(NotAllowed):
            responses.respond(s, registry, case.tracking_code, "satisfied", "")
        with pytest.raises(NotFound):
            responses.respond(s, registry, "AAAA-BBBB-CCCC", "satisfied", "")
    done = file_report(factory, registry, actor)
    for verdict, comment in (("maybe", ""), ("", "x"), ("satisfied", "x" * 2001), ("satisfied", "a\x00b")):
        with transaction(factory) as s:
            with pytest.raises(InvalidInput):
                responses.respond(s, registry, done.tracking_code, verdict, comment)
    assert responses_of(factory, done.id) == 0
    unknown = citizen.post("/lacak/tanggapan", {"csrf_token": token, "kode": "nothing", "tanggapan": "satisfied"})
    assert unknown.status_code in (400, 404)


def test_a_response_racing_another_is_refused_by_the_database(factory, registry, actor, monkeypatch):
    """Two posts that both found no response yet: the history's (case, seq) constraint and the case's
    version let one through; the other gets AlreadyResponded and writes nothing."""
    case = file_report(factory, registry, actor)
    late = factory()
    seen = late.scalar(select(Case).where(Case.tracking_code == case.tracking_code))  # read before the first commits
    assert seen is not None  # kept: the identity map holds what this request read
    with transaction(factory) as s:
        responses.respond(s, registry, case.tracking_code, "satisfied", "")
    monkeypatch.setattr(responses, "_already", lambda session, c: False)  # as if it checked a moment earlier
    with pytest.raises(AlreadyResponded):
        responses.respond(late, registry, case.tracking_code, "not_satisfied", "Tidak puas.")
    late.rollback()
    late.close()
    assert responses_of(factory, case.id) == 1 and case_row(factory, case.id).state == "selesai"


# -- the public list ------------------------------------------------------------------------------
def test_the_public_list_shows_answered_public_reports_only(citizen, factory, registry, actor):
    shown = file_report(factory, registry, actor, judul="Laporan terbuka")
    anonymous = file_report(factory, registry, actor, judul="Sampah menumpuk di Jalan Kenanga", **{ANONYMOUS_KEY: "on"})
    confidential = file_report(factory, registry, actor, judul="Pungutan liar di Pasar Sayur", **{CONFIDENTIAL_KEY: "on"})
    unanswered = file_report(factory, registry, actor, judul="Lampu jalan padam di Sibau Hilir", answered=False)
    r = citizen.get("/laporan/laporisp4n")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'data-number="{shown.id}"' in html and "Laporan terbuka" in html and ANSWER in html
    for hidden in (anonymous, confidential, unanswered):
        assert f'data-number="{hidden.id}"' not in html
    for title in ("Sampah menumpuk di Jalan Kenanga", "Pungutan liar di Pasar Sayur", "Lampu jalan padam di Sibau Hilir"):
        assert title not in html
    for private in (SECRET_STORY, NOTE, REPORT["nama_pelapor"], REPORT["kontak_pelapor"], shown.tracking_code,
                    "Segera koordinasikan", "Disetujui."):
        assert private not in html, private
    assert citizen.get("/laporan").status_code == 200
    assert "/laporan/laporisp4n" in citizen.get("/laporan").get_data(as_text=True)


def test_the_public_list_is_keyset_paginated_and_refuses_junk(citizen, factory, registry, actor):
    made = [file_report(factory, registry, actor, judul=f"Laporan {k}") for k in range(3)]
    with factory() as s:
        first = responses.public_list(s, registry, "laporisp4n", limit=2)
        assert [r.number for r in first.reports] == [made[2].id, made[1].id]
        assert first.next_after == made[1].id
        second = responses.public_list(s, registry, "laporisp4n", after=first.next_after, limit=2)
        assert [r.number for r in second.reports] == [made[0].id] and second.next_after is None
        with pytest.raises(NotFound):
            responses.public_list(s, registry, "ppid")  # its definition does not allow a public list
    assert citizen.get("/laporan/laporisp4n?setelah=abc").status_code == 404
    assert citizen.get("/laporan/laporisp4n?setelah=%D9%A1").status_code == 404
    assert citizen.get("/laporan/ppid").status_code == 404
    assert citizen.get("/laporan/nothing").status_code == 404
    assert citizen.get(f"/laporan/laporisp4n?setelah={made[1].id}").status_code == 200


# -- the definition -------------------------------------------------------------------------------
def _problems(text: str) -> list[str]:
    from runner.definition import check_text

    sop, problems = check_text(text, "x.yaml")
    assert sop is None
    return [p.format() for p in problems]


def test_the_response_and_public_list_keys_are_checked():
    from conftest import LAPOR

    text = LAPOR.read_text(encoding="utf-8")
    assert any("'selesaii' is not an activity or end of flow 'pengaduan'" in p
               for p in _problems(text.replace("after: [selesai]", "after: [selesaii]")))
    assert any("'arsip_laporan' is not an activity or end of flow 'pengaduan'" in p
               for p in _problems(text.replace("not_satisfied: teruskan_ke_pelapor", "not_satisfied: arsip_laporan")))
    no_response = text.replace("    response:\n      after: [selesai]\n      not_satisfied: teruskan_ke_pelapor\n", "")
    assert any("public_list" in p and "response.after" in p for p in _problems(no_response))
    scheduled = text.replace("    recap: {by: [kanal], units: true}\n",
                             "    recap: {by: [kanal], units: true}\n    public_list: true\n")
    assert any("scheduled flow has no reporter" in p for p in _problems(scheduled))


def test_responses_are_rate_limited_like_the_report_form(db_url, seeded, factory, registry, actor):
    from web_helpers import Visitor, csrf_token, dispose, make_app

    case = file_report(factory, registry, actor)
    app = make_app(db_url, RATELIMIT_ENABLED=True, SOP_LIMIT_REPORT_POSTS="2 per hour")
    try:
        v = Visitor(app)
        token = csrf_token(v.get(f"/lacak?kode={case.tracking_code}").get_data(as_text=True))
        bad = {"csrf_token": token, "kode": case.tracking_code, "tanggapan": "maybe"}
        assert [v.post("/lacak/tanggapan", bad).status_code for _ in range(3)] == [400, 400, 429]
        assert responses_of(factory, case.id) == 0
    finally:
        dispose(app)


def test_a_response_cannot_reopen_a_unit_step_of_a_case_without_a_unit():
    from conftest import LAPOR

    text = LAPOR.read_text(encoding="utf-8")
    early = text.replace("after: [selesai]", "after: [selesai, tidak_valid]").replace(
        "not_satisfied: teruskan_ke_pelapor", "not_satisfied: kirim_jawaban_opd")
    assert any("only by unit-scoped roles, but a response can reopen" in p for p in _problems(early))
    from runner.definition import check_text

    fine = text.replace("not_satisfied: teruskan_ke_pelapor", "not_satisfied: kirim_jawaban_opd")
    assert check_text(fine, "x.yaml")[0] is not None  # selesai is reached only after step 4 chose the OPD
