"""The staff case page that guides (services.case_page, staff/case.html), through Flask's test client:
the report first with option labels, the step's requirements as a checklist, then the form; a banner
with the reason when a case comes back; step 9's answer prefilled from step 8's; nothing twice.
"""

from __future__ import annotations

import re
import uuid

import pytest

from conftest import LAPOR, REPORT
from runner import services
from runner.definition import Field, Option, Text
from runner.definition.loader import check_text, load_file
from runner.privacy import MASK
from runner.services.case_page import returns, shown
from runner.store import transaction
from web_helpers import Visitor, advance, case_row, form_with, text_of

LAPOR_TEXT = LAPOR.read_text(encoding="utf-8")


def _start(factory, registry, actor, report: dict | None = None, anonymous: bool = False) -> int:
    raw = {**(report or REPORT), **({"_anonim": "on"} if anonymous else {})}
    with transaction(factory) as s:
        return services.start_case(s, registry, "laporisp4n", "pengaduan", raw, actor=actor("admin_utama")).id


def _act(factory, registry, actor, case_id: int, user: str, action: str, fields: dict) -> None:
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor(user), action, fields, expected_version=None)


def _main(html: str) -> str:
    """The page's <main>: the <title> in <head> names the case too, for the browser tab."""
    return html[html.index("<main"):html.index("</main>")]


def _english(v: Visitor) -> Visitor:
    with v.client.session_transaction() as s:
        s["lang"] = "en"
    return v


@pytest.fixture
def at(factory, registry, actor):
    """at(step) -> id of a fresh report whose open step is ``step`` (the LAPOR walk of web_helpers)."""

    def make(step: int, **kw) -> int:
        case_id = _start(factory, registry, actor, **kw)
        advance(factory, registry, actor, case_id, step)
        return case_id

    return make


def test_the_report_comes_first_then_the_checklist_then_the_form(app, staff, at):
    case_id = at(2)
    html = staff("admin_utama").get(f"/kasus/{case_id}").get_data(as_text=True)
    order = [html.index(f'data-testid="{t}"') for t in ("case-title", "report", "case-step", "requirements",
                                                        "step-form", "history")]
    assert order == sorted(order), order
    checklist = html[html.index('data-testid="requirements"'):html.index('data-testid="step-form"')]
    assert re.findall(r'<input type="checkbox" data-testid="requirement">\s*([^<]+)</label>', checklist) == \
        ["Komputer", "i-net", "data laporan masyarakat"]  # step 2's kelengkapan, one box each
    assert "name=" not in checklist  # the ticks are the officer's own: never submitted
    # each action with its own fields: the reason for "not valid" sits with that button only
    group = html[html.index('data-testid="group-tidak_valid"'):]
    assert 'id="f_alasan_tidak_valid"' in group[:group.index("</fieldset>")]
    assert 'id="f_alasan_tidak_valid"' not in html[html.index('data-testid="group-valid"'):html.index(
        'data-testid="group-tidak_valid"')]


def test_option_labels_not_stored_values(app, staff, at):
    case_id = at(3)  # step 1 chose kanal "web"
    html = staff("kadis").get(f"/kasus/{case_id}").get_data(as_text=True)
    history = html[html.index('data-testid="history"'):]
    assert "<dt>Kanal laporan</dt><dd>Situs web LAPOR!</dd>" in history
    assert "<dd>web</dd>" not in html
    # a unit shows its name, not its id
    case_id = at(5)
    history = staff("kadis").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert "<dt>OPD tujuan</dt><dd>Dinas Kesehatan</dd>" in history and "<dd>dinkes</dd>" not in history


def test_values_read_as_labels_yes_no_units_and_masks():
    choice = Field("kanal", "select", Text("Kanal"), options=(Option("web", Text("Situs web", (("en", "Website"),))),))
    assert shown(choice, "web", {}).text == Text("Situs web", (("en", "Website"),))
    assert shown(choice, "fax", {}).text == "fax"  # a value this version no longer offers: as stored
    assert shown(Field("ok", "checkbox", Text("Lengkap")), True, {}).text is True  # worded Ya / Tidak
    assert shown(Field("ok", "checkbox", Text("Lengkap")), False, {}).text is False
    assert shown(Field("opd", "unit", Text("OPD")), "dinkes", {"dinkes": "Dinas Kesehatan"}).text == "Dinas Kesehatan"
    assert shown(Field("nama", "text", Text("Nama")), MASK, {}).text == MASK


def test_yes_and_no_are_words_on_the_page(app):
    """A checkbox's stored True reads "Yes" (Ya), never "True": PPID's intake has none, so the
    page is rendered for a case whose report carries a checkbox value through the shared macro."""
    from flask import render_template_string

    with app.test_request_context("/"):
        from flask import session

        session["lang"] = "en"
        html = render_template_string(
            "{% from 'staff/_case_parts.html' import values_list %}{{ values_list(values) }}",
            values=[shown(Field("ok", "checkbox", Text("Complete")), True, {}),
                    shown(Field("no", "checkbox", Text("Signed")), False, {})])
    assert html == "<dl class=\"data small\"><dt>Complete</dt><dd>Yes</dd><dt>Signed</dt><dd>No</dd></dl>"


def test_nothing_is_shown_twice(app, staff, at):
    title = f"Jembatan gantung rusak {uuid.uuid4().hex[:6]}"
    report = {**REPORT, "judul": title, "isi_laporan": f"Papan lantai lepas {uuid.uuid4().hex[:6]}.",
              "lokasi": f"Desa Sibau Hulu {uuid.uuid4().hex[:6]}"}
    case_id = at(4, report=report)
    for user in ("kadis", "admin_utama", "kasi"):
        main = _main(staff(user).get(f"/kasus/{case_id}").get_data(as_text=True))
        assert main.count(title) == 1, (user, main.count(title))  # the heading, not the report too
        for key in ("isi_laporan", "lokasi", "nama_pelapor"):
            assert main.count(report[key]) == 1, (user, key)  # the report, not the history's first entry too
        assert main.count('data-testid="case-step"') == 1  # the step is named once, on its card
    html = staff("kadis").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert text_of(html, "data-isi_laporan") == report["isi_laporan"]
    assert 'data-testid="data-judul"' not in html


def test_a_case_sent_back_shows_who_when_and_why_above_the_report(app, staff, at, factory, registry, actor):
    case_id = at(7)
    reason = f"Jawaban belum memuat jadwal perbaikan {uuid.uuid4().hex[:6]}."
    assert 'data-testid="returned"' not in staff("kadis_opd.dinkes").get(f"/kasus/{case_id}").get_data(as_text=True)
    kadis_opd = staff("kadis_opd.dinkes")
    assert kadis_opd.act(case_id, "kembalikan", {"catatan_kadis_opd": reason}).status_code == 302
    assert case_row(factory, case_id).state == "koordinasi_jawaban"

    penghubung = _english(staff("pejabat_penghubung.dinkes"))
    html = penghubung.get(f"/kasus/{case_id}").get_data(as_text=True)
    banner = text_of(html, "returned")
    assert banner and reason in banner and "Kadis OPD/Tim Koordinasi (Dinas Kesehatan)" in banner
    assert text_of(html, "returned-action") == "Return for revision"
    assert banner.startswith("Sent back to this step")
    assert html.index('data-testid="returned"') < html.index('data-testid="report"') < html.index(
        'data-testid="step-form"')
    assert 'data-testid="history-returned"' in html  # and the history marks the entry that sent it back

    # answered again and approved: no banner any more
    assert penghubung.act(case_id, "ajukan", {"jawaban": "Jadwal: Kamis."}).status_code == 302
    html = staff("kadis_opd.dinkes").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert 'data-testid="returned"' not in html


def test_a_pause_after_the_return_keeps_the_banner(app, staff, at, factory, registry, actor):
    from runner.services import pauses

    case_id = at(7)
    _act(factory, registry, actor, case_id, "kadis_opd.dinkes", "kembalikan", {"catatan_kadis_opd": "Perbaiki."})
    with transaction(factory) as s:
        pauses.pause_case(s, registry, case_id, actor("pejabat_penghubung.dinkes"), "menunggu_instansi_lain", "",
                          expected_version=None)
    html = staff("pejabat_penghubung.dinkes").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert 'data-testid="paused"' in html and "Perbaiki." in text_of(html, "returned")


def test_not_our_remit_is_a_return_too(app, staff, at):
    """The rule is generic: any action to a lower-numbered step of the flow (5 → 4 here)."""
    case_id = at(5)
    reason = "Bukan kewenangan Dinas Kesehatan."
    assert staff("operator_opd.dinkes").act(case_id, "bukan_wewenang",
                                           {"alasan_bukan_wewenang": reason}).status_code == 302
    html = staff("kadis").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert reason in text_of(html, "returned-reason")
    assert "<dt>Alasan bukan wewenang OPD ini</dt>" in html[html.index('data-testid="returned"'):]


def test_what_returns_a_case():
    sop = load_file(LAPOR)
    assert returns(sop, "verifikasi_jawaban", "koordinasi_jawaban")  # 7 → 6
    assert returns(sop, "teruskan_ke_pelapor", "kirim_jawaban_opd")  # 9 → 8
    assert returns(sop, "terima_disposisi", "disposisi_pimpinan")  # 5 → 4
    assert not returns(sop, "disposisi_pimpinan", "terima_disposisi")  # 4 → 5
    assert not returns(sop, "verifikasi_laporan", "tidak_valid")  # to an end
    assert not returns(sop, None, "input_laporan")  # the case was opened


def test_step_9_starts_with_step_8s_answer(app, staff, at, factory, registry, actor):
    case_id = at(8)  # step 6 drafted "Akan ditambal minggu ini."
    opd_answer = f"Lubang ditambal pada Rabu {uuid.uuid4().hex[:6]}."
    _act(factory, registry, actor, case_id, "operator_opd.dinkes", "kirim", {"jawaban": opd_answer})
    admin = staff("admin_utama")
    form = form_with(admin.get(f"/kasus/{case_id}").get_data(as_text=True), testid="step-form")
    assert form.fields["jawaban_akhir"] == opd_answer
    assert form.fields["catatan_pengembalian"] == ""

    # returned to the OPD, answered anew: step 9 starts with the new answer
    note = "Mohon cantumkan tanggal."
    assert admin.act(case_id, "kembalikan_ke_opd", {"catatan_pengembalian": note,
                                                    "jawaban_akhir": ""}).status_code == 302
    operator = staff("operator_opd.dinkes")
    page = operator.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert note in text_of(page, "returned-reason")
    assert form_with(page, testid="step-form").fields["jawaban"] == opd_answer  # its own last answer
    newer = "Lubang ditambal pada Rabu 3 Desember."
    assert operator.act(case_id, "kirim", {"jawaban": newer}).status_code == 302
    form = form_with(admin.get(f"/kasus/{case_id}").get_data(as_text=True), testid="step-form")
    assert form.fields["jawaban_akhir"] == newer
    # and what the prefilled form sends is what the reporter reads
    assert admin.act(case_id, "teruskan").status_code == 302
    assert case_row(factory, case_id).data["jawaban_akhir"] == newer


def test_a_field_typed_after_the_source_keeps_its_own_value(factory, registry, actor):
    """Own value newer than the prefill's source: the own value stays (history order decides)."""
    from runner.services.prefill import initial_values

    sop = load_file(LAPOR)
    step9 = sop.activity("teruskan_ke_pelapor")

    class Entry:
        def __init__(self, seq, activity, data):
            self.seq, self.activity, self.data = seq, activity, data

    entries = [Entry(1, None, {}), Entry(2, "kirim_jawaban_opd", {"jawaban": "OPD"}),
               Entry(3, "teruskan_ke_pelapor", {"jawaban_akhir": "Admin"})]
    assert initial_values(step9, {"jawaban": "OPD", "jawaban_akhir": "Admin"}, entries)["jawaban_akhir"] == "Admin"
    entries.append(Entry(4, "kirim_jawaban_opd", {"jawaban": "OPD baru"}))
    assert initial_values(step9, {"jawaban": "OPD baru", "jawaban_akhir": "Admin"}, entries)["jawaban_akhir"] == \
        "OPD baru"
    # step 6's draft shares the id "jawaban" but is not step 8's answer
    only6 = [Entry(1, None, {}), Entry(2, "koordinasi_jawaban", {"jawaban": "draf"})]
    assert initial_values(step9, {"jawaban": "draf"}, only6)["jawaban_akhir"] is None


def test_masked_identity_stays_masked(app, staff, at):
    canary = f"Kanari {uuid.uuid4().hex[:8]}"
    case_id = at(4, report={**REPORT, "nama_pelapor": canary}, anonymous=True)
    kadis = staff("kadis").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert canary not in kadis and text_of(kadis, "data-nama_pelapor") == MASK
    admin = staff("admin_utama").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert text_of(admin, "data-nama_pelapor") == canary  # sees_identity


# -- the definition language: prefill is checked where it is written ------------------------------
PREFILL = "        prefill: {activity: kirim_jawaban_opd, field: jawaban}\n"


def _with_prefill(line: str) -> tuple[object, list]:
    assert PREFILL in LAPOR_TEXT
    return check_text(LAPOR_TEXT.replace(PREFILL, line), "lapor.yaml")


def _errors(problems) -> list[str]:
    return [p.message for p in problems if p.severity == "error"]


@pytest.mark.parametrize("line, expected", [
    ("        prefill: jawaban\n", None),  # the field id: whichever earlier step stored it last
    ("        prefill: kanal\n", "a select field cannot prefill a textarea field"),
    ("        prefill: jawabn\n", "'jawabn' is not a field of the intake or of an activity before "
                                  "'teruskan_ke_pelapor' (did you mean 'jawaban'?)"),
    ("        prefill: nama_pelapor\n", "'nama_pelapor' identifies the reporter"),
    ("        prefill: jawaban_akhir\n", "'jawaban_akhir' is this field itself"),
    ("        prefill: {activity: kirim_jawaban, field: jawaban}\n", "'kirim_jawaban' is not an activity of flow"),
    ("        prefill: {activity: kirim_jawaban_opd, field: catatan}\n", "'catatan' is not a field of activity "
                                                                    "'kirim_jawaban_opd'"),
    ("        prefill: {activity: rekap_laporan, field: ringkasan_rekap}\n", "is not an activity of flow 'pengaduan'"),
    ("        prefill: {activity: kirim_jawaban_opd}\n", "missing required field 'field'"),
    ("        prefill: {activity: kirim_jawaban_opd, field: jawaban, from: x}\n", "unknown field 'from'"),
])
def test_prefill_is_checked_by_the_loader(line, expected):
    sop, problems = _with_prefill(line)
    if expected is None:
        assert sop is not None and not _errors(problems), problems
        assert sop.activity("teruskan_ke_pelapor").fields[0].prefill.activity is None
        return
    assert sop is None
    assert any(expected in m for m in _errors(problems)), _errors(problems)
    located = [p for p in problems if expected in p.message]
    assert located[0].line >= LAPOR_TEXT[:LAPOR_TEXT.index(PREFILL)].count("\n") + 1  # at the prefill line


def test_prefill_from_a_later_step_or_on_the_intake_is_refused():
    # step 3's summary from step 8: step 8 never comes before step 3
    text = LAPOR_TEXT.replace(
        "        label: {id: Ringkasan untuk pimpinan, en: Summary for leadership}\n",
        "        label: {id: Ringkasan untuk pimpinan, en: Summary for leadership}\n"
        "        prefill: {activity: kirim_jawaban_opd, field: jawaban}\n")
    sop, problems = check_text(text)
    assert sop is None and any("activity 'kirim_jawaban_opd' never comes before 'sampaikan_ke_pimpinan'" in m
                               for m in _errors(problems)), problems
    text = LAPOR_TEXT.replace("        label: {id: Lokasi kejadian, en: Location}\n",
                              "        label: {id: Lokasi kejadian, en: Location}\n        prefill: judul\n")
    sop, problems = check_text(text)
    assert sop is None and any("an intake field is filled in by whoever starts the case" in m
                               for m in _errors(problems)), problems


def test_a_shorter_target_is_a_warning():
    before = "        max_length: 4000\n        public: true\n"
    start = LAPOR_TEXT.rindex(before, 0, LAPOR_TEXT.index(PREFILL))  # step 9's jawaban_akhir
    text = LAPOR_TEXT[:start] + LAPOR_TEXT[start:].replace(before, "        max_length: 500\n        public: true\n", 1)
    sop, problems = check_text(text)
    assert sop is not None
    assert any("may hold more than this field's max_length (500)" in p.message and p.severity == "warning"
               for p in problems), problems
