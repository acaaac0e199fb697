"""The Flask front end through its HTTP interface (Flask's test client), on SQLite and PostgreSQL.

CSRF protection stays ON in every test: each POST is built from the page a browser would have
loaded (see web_helpers.Visitor), hidden ``csrf_token``, ``version`` and ``nonce`` included.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from conftest import REPO, REPORT
from runner import services
from runner.errors import ConfigurationError, DefinitionError, SopError
from runner.store import Case, transaction
from web_helpers import (
    ANSWER, DEFINITIONS, STEPS, Visitor, advance, case_count, case_id_for_code, case_row, csrf_token, dispose, form_with,
    history_count, make_app, text_of,
)

PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"
OUTSIDER = "operator_opd.disdik"  # a user of another OPD: must never see a dinkes case
FINAL_STATUS = "Selesai, jawaban telah diteruskan kepada pelapor"


@pytest.fixture
def app(db_url, seeded):
    try:
        app = make_app(db_url)
    except SopError as exc:
        pytest.fail(f"create_app refused a prepared database: {exc}")
    yield app
    dispose(app)


def file_report(visitor: Visitor, report: dict = REPORT) -> str:
    """Submit the public form; return the tracking code shown on the page it redirects to."""
    r = visitor.submit(PUBLIC_FORM, report, control="nonce")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    page = visitor.get(r.headers["Location"])
    assert page.status_code == 200
    code = text_of(page.get_data(as_text=True), "tracking-code")
    assert code and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code), code
    return code


@pytest.fixture
def report_at(citizen, factory, registry, actor):
    """report_at(4) -> id of a fresh public report whose open step is activity 4."""

    def make(step: int) -> int:
        case_id = case_id_for_code(factory, file_report(citizen))
        advance(factory, registry, actor, case_id, step)
        return case_id

    return make


def field_block(html: str, field_id: str) -> str:
    """The <div class="field"> that renders ``field_id`` (label, control, help and error)."""
    for block in re.split(r'(?=<div class="field)', html):
        if f'id="f_{field_id}"' in block:
            return block
    raise AssertionError(f"field {field_id} not on the page")


# -- the whole procedure --------------------------------------------------------------------------
def same_page(a: str, b: str) -> bool:
    """Two pages are the same but for their CSRF tokens (time-stamped: they differ across a second)."""
    token = re.compile(r'name="csrf_token" value="[^"]*"')
    return token.sub("csrf", a) == token.sub("csrf", b)


def test_report_walks_through_every_step(app, citizen, staff, factory):
    code = file_report(citizen)
    case_id = case_id_for_code(factory, code)
    outsider = staff(OUTSIDER)

    for no, username, action, fields in STEPS:
        user = Visitor(app)
        user.login(username)
        assert case_id in user.inbox_ids(), f"step {no}: case not in {username}'s inbox"
        assert case_id not in outsider.inbox_ids(), f"step {no}: case leaked into {OUTSIDER}'s inbox"
        denied = outsider.get(f"/kasus/{case_id}")
        assert denied.status_code == 404, f"step {no}: {OUTSIDER} got {denied.status_code}"
        assert REPORT["nama_pelapor"] not in denied.get_data(as_text=True)
        # exactly what a case number that does not exist answers: nothing tells the two apart
        missing = outsider.get("/kasus/999999").get_data(as_text=True)
        assert same_page(denied.get_data(as_text=True).replace(f"/kasus/{case_id}", "/kasus/N"),
                         missing.replace("/kasus/999999", "/kasus/N"))

        page = user.get(f"/kasus/{case_id}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert text_of(html, "case-step").startswith(f"{no}. ")
        before = history_count(factory, case_id)
        r = user.act(case_id, action, fields, page=page)
        assert r.status_code == 302, (no, r.status_code, r.get_data(as_text=True)[:3000])
        assert history_count(factory, case_id) == before + 1
        user.logout()
        assert user.get("/kotak-masuk").status_code == 302  # signed out for real

    case = case_row(factory, case_id)
    assert case.state == "selesai" and case.closed_at is not None and case.unit_id == "dinkes"
    assert history_count(factory, case_id) == 1 + len(STEPS)
    assert case_id not in staff("admin_utama").inbox_ids()
    assert outsider.get(f"/kasus/{case_id}").status_code == 404

    track = Visitor(app).get(f"/lacak?kode={code}")
    html = track.get_data(as_text=True)
    assert track.status_code == 200
    assert text_of(html, "status") == FINAL_STATUS
    assert text_of(html, "answer-jawaban_akhir") == ANSWER
    assert REPORT["nama_pelapor"] not in html and REPORT["kontak_pelapor"] not in html
    assert "Akan ditambal minggu ini." not in html  # the OPD's internal draft is not public
    # the code is read however the reporter types it
    loose = Visitor(app).get(f"/lacak?kode={code.lower().replace('-', ' ')}")
    assert loose.status_code == 200 and text_of(loose.get_data(as_text=True), "status") == FINAL_STATUS


# -- branches -------------------------------------------------------------------------------------
def test_disposition_not_forwarded_needs_a_reason(app, staff, report_at, factory, citizen):
    case_id = report_at(4)
    kadis = staff("kadis")
    page = kadis.get(f"/kasus/{case_id}")
    html = page.get_data(as_text=True)
    assert 'data-testid="action-teruskan"' in html and 'data-testid="action-tidak_teruskan"' in html

    r = kadis.act(case_id, "tidak_teruskan", {"alasan_tidak_diteruskan": ""}, page=page)
    assert r.status_code == 400
    block = field_block(r.get_data(as_text=True), "alasan_tidak_diteruskan")
    assert 'data-testid="error-alasan_tidak_diteruskan"' in block and "has-error" in block
    case = case_row(factory, case_id)
    assert case.state == "disposisi_pimpinan" and case.version == 4 and history_count(factory, case_id) == 4

    # forwarding without a target OPD is refused the same way
    r = kadis.act(case_id, "teruskan", {"opd_tujuan": ""})
    assert r.status_code == 400
    assert 'data-testid="error-opd_tujuan"' in field_block(r.get_data(as_text=True), "opd_tujuan")
    assert case_row(factory, case_id).state == "disposisi_pimpinan"

    reason = "Bukan kewenangan pemerintah kabupaten."
    r = kadis.act(case_id, "tidak_teruskan", {"alasan_tidak_diteruskan": reason})
    assert r.status_code == 302
    case = case_row(factory, case_id)
    assert case.state == "tidak_diteruskan" and case.closed_at is not None and case.unit_id is None
    track = citizen.get(f"/lacak?kode={case.tracking_code}").get_data(as_text=True)
    assert text_of(track, "answer-alasan_tidak_diteruskan") == reason
    assert "Laporan tidak diteruskan ke OPD" in track


def test_disposition_forwarded_to_an_opd(app, staff, report_at, factory):
    case_id = report_at(4)
    r = staff("kadis").act(case_id, "teruskan", {"opd_tujuan": "dinkes"})
    assert r.status_code == 302
    case = case_row(factory, case_id)
    assert case.state == "terima_disposisi" and case.unit_id == "dinkes"
    assert case_id in staff("operator_opd.dinkes").inbox_ids()
    assert case_id not in staff(OUTSIDER).inbox_ids()
    assert case_id not in staff("kadis").inbox_ids()


def test_verification_not_valid(app, staff, report_at, factory, citizen):
    case_id = report_at(2)
    admin = staff("admin_utama")
    r = admin.act(case_id, "tidak_valid", {"alasan_tidak_valid": ""})
    assert r.status_code == 400
    assert 'data-testid="error-alasan_tidak_valid"' in field_block(r.get_data(as_text=True), "alasan_tidak_valid")
    assert case_row(factory, case_id).state == "verifikasi_laporan" and history_count(factory, case_id) == 2

    reason = "Laporan tidak memuat lokasi dan waktu kejadian."
    r = admin.act(case_id, "tidak_valid", {"alasan_tidak_valid": reason})
    assert r.status_code == 302
    case = case_row(factory, case_id)
    assert case.state == "tidak_valid" and case.closed_at is not None
    assert case_id not in admin.inbox_ids()
    track = citizen.get(f"/lacak?kode={case.tracking_code}").get_data(as_text=True)
    assert text_of(track, "status") == "Ditutup, laporan tidak valid"
    assert text_of(track, "answer-alasan_tidak_valid") == reason


# -- refusals -------------------------------------------------------------------------------------
def test_wrong_role_is_refused_and_nothing_changes(app, staff, report_at, factory):
    case_id = report_at(1)
    kabid = staff("kabid")
    page = kabid.get(f"/kasus/{case_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="not-your-turn"' in html  # may read, may not act
    assert 'data-testid="step-form"' not in html
    before = history_count(factory, case_id)
    r = kabid.post(f"/kasus/{case_id}", {"csrf_token": csrf_token(html), "version": "1", "action": "simpan",
                                         "kanal": "web"})
    assert r.status_code == 403
    assert 'data-testid="refused"' in r.get_data(as_text=True)
    case = case_row(factory, case_id)
    assert case.state == "input_laporan" and case.version == 1 and "kanal" not in case.data
    assert history_count(factory, case_id) == before


def test_stale_form_is_refused_with_the_moved_on_message(app, staff, report_at, factory):
    case_id = report_at(1)
    admin = staff("admin_utama")
    page = admin.get(f"/kasus/{case_id}")  # the same rendered form, sent twice
    before = history_count(factory, case_id)
    first = admin.act(case_id, "simpan", {"kanal": "web"}, page=page)
    assert first.status_code == 302
    second = admin.act(case_id, "simpan", {"kanal": "sms"}, page=page)
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert 'data-testid="moved-on"' in html
    assert history_count(factory, case_id) == before + 1
    case = case_row(factory, case_id)
    assert case.state == "verifikasi_laporan" and case.data["kanal"] == "web"


def test_missing_or_invalid_csrf_token_saves_nothing(app, staff, report_at, factory, citizen):
    case_id = report_at(1)
    admin = staff("admin_utama")
    before = history_count(factory, case_id)
    for token in (None, "not-a-token"):
        data = {"version": "1", "action": "simpan", "kanal": "web"}
        if token is not None:
            data["csrf_token"] = token
        r = admin.post(f"/kasus/{case_id}", data)
        assert r.status_code == 400, token
        assert text_of(r.get_data(as_text=True), "error-message")
    assert history_count(factory, case_id) == before and case_row(factory, case_id).state == "input_laporan"

    # a token from another session is no good either
    page = citizen.get(PUBLIC_FORM).get_data(as_text=True)
    foreign = csrf_token(Visitor(app).get(PUBLIC_FORM).get_data(as_text=True))
    cases = case_count(factory)
    for token in (None, foreign):
        f = form_with(page, control="nonce")
        data = {**f.fields, **REPORT}
        data.pop("csrf_token")
        if token:
            data["csrf_token"] = token
        assert citizen.post(PUBLIC_FORM, data).status_code == 400
    assert case_count(factory) == cases

    # and the login form is protected too
    r = Visitor(app).post("/masuk", {"username": "admin_utama", "password": "demo-sop-2026"})
    assert r.status_code == 400


def test_public_double_submit_creates_one_case(app, citizen, factory):
    page = citizen.get(PUBLIC_FORM)
    cases = case_count(factory)
    first = citizen.submit(PUBLIC_FORM, REPORT, control="nonce", page=page)
    second = citizen.submit(PUBLIC_FORM, REPORT, control="nonce", page=page)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert case_count(factory) == cases + 1
    code = parse_qs(urlsplit(first.headers["Location"]).query)["kode"][0]
    case_id_for_code(factory, code)
    # a fresh form (new nonce) is a new report
    third = citizen.submit(PUBLIC_FORM, REPORT, control="nonce")
    assert third.status_code == 302 and third.headers["Location"] != first.headers["Location"]
    assert case_count(factory) == cases + 2


# -- validation and language ----------------------------------------------------------------------
def test_validation_messages_in_indonesian_then_english(app, citizen, factory):
    cases = case_count(factory)
    empty = {"judul": "", "isi_laporan": "", "nama_pelapor": "", "kontak_pelapor": ""}
    r = citizen.submit(PUBLIC_FORM, empty, control="nonce")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert '<html lang="id">' in html
    for field_id in ("judul", "isi_laporan", "nama_pelapor"):
        message = text_of(field_block(html, field_id), f"error-{field_id}")
        assert message and "wajib" in message.lower(), (field_id, message)
        assert message != "This field is required."
    assert 'data-testid="error-kontak_pelapor"' not in html  # optional
    assert "Nama pelapor" in html  # labels from the YAML, in Indonesian
    assert case_count(factory) == cases

    # the values typed so far are kept when the form comes back
    r = citizen.submit(PUBLIC_FORM, {**empty, "judul": "Lampu jalan mati"}, control="nonce")
    assert r.status_code == 400 and 'value="Lampu jalan mati"' in r.get_data(as_text=True)

    switch = citizen.submit(PUBLIC_FORM, None, testid=None, control="next", action="/bahasa/en",
                            page=citizen.get(PUBLIC_FORM))
    assert switch.status_code == 302 and switch.headers["Location"].startswith(PUBLIC_FORM)
    r = citizen.submit(PUBLIC_FORM, empty, control="nonce")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and '<html lang="en">' in html
    assert text_of(html, "error-judul") == "This field is required."
    assert "Reporter&#39;s name" in html or "Reporter's name" in html
    assert case_count(factory) == cases

    # and back
    citizen.post("/bahasa/id", {"csrf_token": csrf_token(html), "next": PUBLIC_FORM})
    assert '<html lang="id">' in citizen.get(PUBLIC_FORM).get_data(as_text=True)


def test_unknown_language_is_ignored(app, citizen):
    page = citizen.get("/").get_data(as_text=True)
    r = citizen.post("/bahasa/xx", {"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert '<html lang="id">' in citizen.get("/").get_data(as_text=True)


# -- signing in -----------------------------------------------------------------------------------
def test_wrong_password_is_refused_with_a_message(app):
    v = Visitor(app)
    r = v.submit("/masuk", {"username": "admin_utama", "password": "salah"}, control="username")
    assert r.status_code == 401
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html and 'value="admin_utama"' in html
    assert 'class="error"' in html
    assert v.get("/kotak-masuk").status_code == 302
    r = v.submit("/masuk", {"username": "nobody", "password": "demo-sop-2026"}, control="username")
    assert r.status_code == 401


def test_inbox_needs_login_and_next_is_followed_only_locally(app):
    v = Visitor(app)
    r = v.get("/kotak-masuk")
    assert r.status_code == 302
    target = urlsplit(r.headers["Location"])
    assert target.path == "/masuk" and parse_qs(target.query).get("next") == ["/kotak-masuk"]

    r = v.login("kasi", next_url="/kasus")
    assert urlsplit(r.headers["Location"]).path == "/kasus"
    v.logout()

    for evil in ("//evil.example", "//evil.example/kotak-masuk", "https://evil.example/", "/\\evil.example",
                 "/\t/evil.example", "///evil.example"):
        v = Visitor(app)
        r = v.login("kasi", next_url=evil)
        location = r.headers["Location"]
        assert "evil.example" not in urlsplit(location).netloc, (evil, location)
        assert not location.startswith(("//", "/\\", "http")), (evil, location)  # browsers read /\ as //
        if evil.startswith(("//", "https:", "/\t")):
            assert urlsplit(location).path == "/kotak-masuk"


# -- not found ------------------------------------------------------------------------------------
def test_unknown_case_is_a_404_page(app, staff):
    r = staff("admin_utama").get("/kasus/999999")
    assert r.status_code == 404
    assert text_of(r.get_data(as_text=True), "error-message")
    r = staff("admin_utama").get("/tidak-ada")
    assert r.status_code == 404 and text_of(r.get_data(as_text=True), "error-message")


def test_unknown_tracking_code_is_a_404_with_a_message(app, citizen):
    r = citizen.get("/lacak?kode=AAAA-BBBB-CCCC")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html and 'data-testid="status"' not in html
    assert citizen.get("/lacak").status_code == 200  # the empty form itself is fine


# -- the monthly recap ----------------------------------------------------------------------------
def test_monthly_recap_runs_to_the_end(app, db_url, staff, factory, registry, citizen):
    from runner.cli import main as sop

    assert sop(["demo", "--database", db_url, "--definitions", str(DEFINITIONS)]) == 0  # opens the month
    assert sop(["demo", "--database", db_url, "--definitions", str(DEFINITIONS)]) == 0  # idempotent
    with factory() as s:
        recaps = list(s.scalars(select(Case).where(Case.flow == "rekap_bulanan")))
    assert len(recaps) == 1
    recap_id, period = recaps[0].id, recaps[0].period
    # one report filed during that month, so the figures have something to count
    year, month = (int(x) for x in period.split("-"))
    with transaction(factory) as s:
        services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT,
                            actor=services.actor_for(_user(s, "admin_utama")),
                            now=dt.datetime(year, month, 15, 3, 0, tzinfo=dt.timezone.utc))

    admin = staff("admin_utama")
    assert recap_id in admin.inbox_ids()
    page = admin.get(f"/kasus/{recap_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="recap"' in html and period in html
    totals = re.search(r'data-testid="recap-totals">(.*?)</table>', html, re.S).group(1)
    counts = dict(re.findall(r'<th scope="row">([^<]*)</th><td>(\d+)</td>', totals))
    assert counts["Diterima"] == "1"  # the report filed that month, still open at step 1
    assert counts["Masih terbuka di 1. Input laporan masyarakat dari berbagai kanal LAPORISP4N"] == "1"
    assert sum(int(n) for label, n in counts.items() if label.startswith("Selesai: ")) == 0
    assert text_of(html, "case-step").startswith("10. ")

    r = admin.act(recap_id, "sampaikan", {"ringkasan_rekap": ""}, page=page)
    assert r.status_code == 400 and 'data-testid="error-ringkasan_rekap"' in r.get_data(as_text=True)
    r = admin.act(recap_id, "sampaikan", {"ringkasan_rekap": "1 laporan masuk, belum selesai."})
    assert r.status_code == 302
    assert text_of(admin.get(f"/kasus/{recap_id}").get_data(as_text=True), "case-step").startswith("11. ")
    r = admin.act(recap_id, "arsipkan", {"lokasi_arsip": "Arsip/LAPOR/" + period})
    assert r.status_code == 302
    case = case_row(factory, recap_id)
    assert case.state == "terarsip" and case.closed_at is not None
    assert recap_id not in admin.inbox_ids()
    # the recap is internal: a unit's operator cannot open it, and it has no tracking code
    assert case.tracking_code is None
    assert staff(OUTSIDER).get(f"/kasus/{recap_id}").status_code == 404


def _user(session, username):
    from runner.store import User

    return session.scalar(select(User).where(User.username == username))


# -- Admin Utama inputs a report from another channel ---------------------------------------------
def test_admin_creates_a_case_from_the_inbox(app, staff, factory):
    admin = staff("admin_utama")
    inbox = admin.get("/kotak-masuk").get_data(as_text=True)
    assert 'href="/kasus/baru/laporisp4n/pengaduan"' in inbox
    assert "/kasus/baru/laporisp4n/rekap_bulanan" not in inbox  # the scheduler opens those

    r = admin.submit("/kasus/baru/laporisp4n/pengaduan", {"judul": ""}, control="judul")
    assert r.status_code == 400 and 'data-testid="error-judul"' in r.get_data(as_text=True)
    cases = case_count(factory)
    report = {**REPORT, "judul": "Laporan SMS: sekolah rusak"}
    r = admin.submit("/kasus/baru/laporisp4n/pengaduan", report, control="judul")
    assert r.status_code == 302
    case_id = int(re.fullmatch(r"/kasus/(\d+)", urlsplit(r.headers["Location"]).path).group(1))
    assert case_count(factory) == cases + 1
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    case = case_row(factory, case_id)
    assert case.tracking_code in page  # flashed and shown for the reporter
    assert text_of(page, "case-title") == report["judul"]
    assert text_of(page, "case-step").startswith("1. ")
    assert case_id in admin.inbox_ids()

    # only roles that start the flow see the form
    kadis = staff("kadis")
    assert "/kasus/baru/" not in kadis.get("/kotak-masuk").get_data(as_text=True)
    assert kadis.get("/kasus/baru/laporisp4n/pengaduan").status_code == 404
    assert admin.get("/kasus/baru/laporisp4n/rekap_bulanan").status_code == 404


# -- start-up -------------------------------------------------------------------------------------
def test_create_app_against_an_empty_database_raises_a_runner_error_with_a_hint(db_url, caplog):
    with pytest.raises(ConfigurationError) as info:
        make_app(db_url)
    assert "sop db upgrade" in str(info.value) and "sop db upgrade" in info.value.hint
    assert any(r.getMessage().startswith("startup.failed") and "sop db upgrade" in r.getMessage()
               for r in caplog.records)


def test_kasi_is_informed_and_the_decision_form_says_which_field_each_action_needs(app, staff, report_at):
    case_id = report_at(4)  # sent up to leadership at step 3
    kasi = staff("kasi")
    html = kasi.get("/kotak-masuk").get_data(as_text=True)
    assert f'data-informed-case="{case_id}"' in html and "Untuk diketahui" in html
    assert case_id not in kasi.inbox_ids()  # informed, not waiting

    kadis = staff("kadis")
    page = kadis.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert "Wajib diisi untuk: Teruskan" in field_block(page, "opd_tujuan")
    assert "Wajib diisi untuk: Tidak diteruskan" in field_block(page, "alasan_tidak_diteruskan")
    r = kadis.act(case_id, "tidak_teruskan")
    block = field_block(r.get_data(as_text=True), "alasan_tidak_diteruskan")
    assert r.status_code == 400
    assert 'aria-invalid="true"' in block
    assert re.search(r'aria-describedby="[^"]*\berr_alasan_tidak_diteruskan\b', block)  # with its "required for" help


# -- a broken revision on disk ----------------------------------------------------------------------
@pytest.fixture
def definitions_copy(tmp_path):
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(DEFINITIONS / "laporisp4n.yaml", folder)
    return folder


def test_a_broken_revision_keeps_the_last_valid_version_running(db_url, seeded, definitions_copy, factory, caplog):
    """The admin saves a YAML with a mistake and the app restarts: nothing stops, staff are told."""
    first = make_app(db_url, SOP_DEFINITIONS=str(definitions_copy))  # publishes from this path
    dispose(first)
    path = definitions_copy / "laporisp4n.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("performers: [kadis]", "performers: [kadiss]"),
                    encoding="utf-8")

    app = make_app(db_url, SOP_DEFINITIONS=str(definitions_copy))
    try:
        assert any("unknown role 'kadiss'" in r.getMessage() for r in caplog.records)
        code = file_report(Visitor(app))  # the public form still works, on the last valid version
        assert case_id_for_code(factory, code)
        admin = Visitor(app)
        admin.login("admin_utama")
        banner = text_of(admin.get("/kotak-masuk").get_data(as_text=True), "broken-definitions")
        assert banner and "laporisp4n.yaml" in banner
        assert 'data-testid="broken-definitions"' not in Visitor(app).get("/").get_data(as_text=True)
    finally:
        dispose(app)


def test_hostile_files_next_to_sound_ones_never_stop_the_app(db_url, seeded, definitions_copy, factory, caplog):
    """A form feed pasted into one file, a copy declaring LAPOR's id, a broken draft of LAPOR: the app
    still starts, serves LAPOR from its file and the other SOP on its last published version."""
    second = REPO / "docs" / "examples" / "permohonan_informasi.yaml"
    shutil.copy(second, definitions_copy)
    dispose(make_app(db_url, SOP_DEFINITIONS=str(definitions_copy)))  # publishes both from this folder
    lapor = (definitions_copy / "laporisp4n.yaml").read_text(encoding="utf-8")
    info = definitions_copy / "permohonan_informasi.yaml"
    info.write_text(re.sub(r"(?m)^title: ", "title: \x0c", info.read_text(encoding="utf-8"), count=1),
                    encoding="utf-8")  # (a) a form feed: the YAML cannot be read at all
    (definitions_copy / "laporisp4n_copy.yaml").write_text(lapor, encoding="utf-8")  # (b) LAPOR's id again
    (definitions_copy / "draft.yaml").write_text(lapor.replace("performers: [kadis]", "performers: [kadiss]"),
                                                 encoding="utf-8")  # broken, and declares LAPOR's id too

    app = make_app(db_url, SOP_DEFINITIONS=str(definitions_copy))
    try:
        logged = [r.getMessage() for r in caplog.records]
        assert any("permohonan_informasi.yaml:" in m and "U+000C (form feed)" in m for m in logged), logged
        assert any("laporisp4n_copy.yaml:21:5: error: id 'laporisp4n' is already used by laporisp4n.yaml" in m
                   for m in logged), logged
        registry = app.extensions["sop"].registry
        assert registry.get("laporisp4n").source_path == str(definitions_copy / "laporisp4n.yaml")
        assert registry.get("permohonan_informasi") is not None  # its last published version
        code = file_report(Visitor(app))  # the public form still works
        assert case_id_for_code(factory, code)
        assert Visitor(app).get("/lapor/permohonan_informasi/permohonan").status_code == 200
        admin = Visitor(app)
        admin.login("admin_utama")
        banner = text_of(admin.get("/kotak-masuk").get_data(as_text=True), "broken-definitions")
        assert banner and all(name in banner for name in
                              ("permohonan_informasi.yaml", "laporisp4n_copy.yaml", "draft.yaml")), banner
    finally:
        dispose(app)


def test_a_start_with_nothing_valid_to_serve_raises_every_problem(db_url, seeded, tmp_path):
    folder = tmp_path / "only-broken"
    folder.mkdir()
    (folder / "baru.yaml").write_text("id: baru\ntitle: Baru\nroles: []\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        make_app(db_url, SOP_DEFINITIONS=str(folder))
    message = str(info.value)
    assert "baru.yaml:" in message and "missing required field" in message


def test_what_a_late_colleague_typed_is_shown_back_not_lost(app, staff, report_at, factory):
    """Two officers hold the same step-6 form; the slower one's long draft must not vanish."""
    case_id = report_at(6)
    first, second = staff("pejabat_penghubung.dinkes"), Visitor(app)
    second.login("pejabat_penghubung.dinkes")
    page = second.get(f"/kasus/{case_id}")
    assert first.act(case_id, "ajukan", {"jawaban": "Draf pertama."}).status_code == 302
    late = second.act(case_id, "ajukan", {"jawaban": "Draf kedua yang panjang dan penting."}, page=page)
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    unsaved = text_of(html, "unsaved")
    assert unsaved and "Draf kedua yang panjang dan penting." in unsaved
    assert case_row(factory, case_id).data["jawaban"] == "Draf pertama."


def test_a_step_form_without_its_version_is_refused_readably(app, staff, report_at, factory):
    case_id = report_at(1)
    admin = staff("admin_utama")
    r = admin.act(case_id, "simpan", {"kanal": "web"}, drop=("version",))
    assert r.status_code == 400 and "Formulir tidak dapat dibaca" in r.get_data(as_text=True)
    assert case_row(factory, case_id).state == "input_laporan"
