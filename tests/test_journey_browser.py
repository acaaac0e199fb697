"""One citizen's report, end to end, in chromium (the set-up of tests/test_browser.py).

A citizen files a LAPOR report with a photo, anonymously, and is given a tracking code; the demo
users carry it through every step in the browser, including what daily work throws at them: a step
put on hold and resumed, an acting official (Kadis lends the role to Kabid on /wakil/, "atas nama" in the
history), the same form open in two tabs (the second save is refused with what was typed), a return
for revision, a search by tracking code and the leaders' dashboard. A second, short walk ends at
step 2 as not valid. The reporter finally sees the public answer and status, never the internal
notes. The UI stays in Indonesian, its default.

Screenshots of the main pages go to test-results/screenshots/ (git-ignored test artifacts); with
SOP_UPDATE_SCREENSHOTS=1 the dashboard and a case page are also copied to docs/screenshots/ for the
README.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import zlib

import pytest

from test_browser import (  # noqa: F401 (fixtures)
    browser, fill, inbox_row, log_in, log_out, site, submit_and_wait, unique)
from web_helpers import ANSWER, REPO, STEPS

pytestmark = pytest.mark.browser

SHOTS = REPO / "test-results" / "screenshots"
DOCS_SHOTS = REPO / "docs" / "screenshots"
WIDTH = 1280
FIELDS = {no: (user, action, fields) for no, user, action, fields in STEPS}
INTERNAL = "CATATAN-INTERNAL verifikasi, jangan tampil ke pelapor"


def png(width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG (a red square), written by hand so the test needs no image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\xdd\x22\x22" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def context(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


def shot(page, name: str, *, docs: str | None = None) -> None:
    """Save a screenshot as a test artifact; with SOP_UPDATE_SCREENSHOTS=1 also as the README's picture."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("SOP_UPDATE_SCREENSHOTS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SHOTS / docs)


def open_case(page, site, case_id: int, no: int) -> None:
    page.goto(f"{site.url}/kasus/{case_id}")
    assert page.locator("[data-testid=case-step]").inner_text().startswith(f"{no}. "), f"not at step {no}"


def act(page, action: str) -> None:
    submit_and_wait(page, page.locator(f"[data-testid=action-{action}]"))
    assert page.locator("p.flash[role=status]").count() == 1, f"{action}: no confirmation shown"


def step(page, site, case_id: int, no: int, *, user: str | None = None, action: str | None = None,
         fields: dict | None = None) -> None:
    """One demo user signs in, opens the case, fills in the step and sends it."""
    default_user, default_action, default_fields = FIELDS[no]
    log_in(page, site, user or default_user)
    open_case(page, site, case_id, no)
    fill(page, default_fields if fields is None else fields)
    act(page, action or default_action)
    log_out(page)


def submit_report(page, site, title: str, *, name: str, photo: bool = False, anonymous: bool = False) -> str:
    """The citizen's side: the public form, sent; returns the tracking code the page shows."""
    page.goto(site.url + "/")
    with page.expect_navigation():
        page.locator("[data-testid=submit-laporisp4n]").click()
    fill(page, {"judul": title, "isi_laporan": "Lubang besar di depan pasar, motor sering jatuh.",
                "lokasi": "Jl. Lintas Utara", "nama_pelapor": name, "kontak_pelapor": "0812 9999 0000"})
    if photo:
        page.set_input_files("input[type=file][name=lampiran]",
                             files=[{"name": "lubang.png", "mimeType": "image/png", "buffer": png()}])
    if anonymous:
        page.locator("[data-testid=anonim]").check()
    if photo:
        shot(page, "01-public-form")
    submit_and_wait(page, page.locator("[data-testid=send]"))
    code = page.locator("[data-testid=tracking-code]").inner_text().strip()
    assert len(code) == 14 and code.count("-") == 2, code
    return code


def track(page, site, code: str) -> None:
    page.goto(f"{site.url}/")
    page.fill("#kode", code)
    submit_and_wait(page, page.locator("form[action='/lacak'] button"))


def test_a_report_with_a_photo_through_every_step(context, page, site):  # noqa: F811
    title = "Jalan berlubang di depan SD Negeri 3 Putussibau"  # once in the module's fresh database
    code = submit_report(page, site, title, name="Rahmat Hidayat", photo=True, anonymous=True)

    # 1. Admin Utama finds it in the inbox: anonymous, with the photo attached
    log_in(page, site, "admin_utama")
    row = inbox_row(page, title)
    assert row.count() == 1, "the report is not in Admin Utama's inbox"
    case_id = int(row.get_attribute("data-case"))
    shot(page, "03-inbox")
    with page.expect_navigation():
        row.locator("a").first.click()
    assert page.locator("[data-testid=badge-anonim]").is_visible()
    assert "lubang.png" in page.locator("[data-testid=report]").inner_text()
    fill(page, FIELDS[1][2])
    act(page, "simpan")

    # 2. put on hold while waiting for the reporter, resumed, then verified (with an internal note)
    open_case(page, site, case_id, 2)
    page.locator("details:has([data-testid=pause-form]) > summary").click()
    submit_and_wait(page, page.locator("[data-testid=pause]"))
    assert page.locator("[data-testid=paused]").is_visible()
    assert page.locator("[data-testid=pause-reason]").inner_text() == "Menunggu kelengkapan data dari pelapor"
    assert page.locator("[data-testid=step-form]").count() == 0  # nothing to act on while on hold
    submit_and_wait(page, page.locator("[data-testid=resume]"))
    assert page.locator("[data-testid=paused]").count() == 0
    assert page.locator("[data-testid=history-paused]").count() == 1
    assert page.locator("[data-testid=history-resumed]").count() == 1
    fill(page, {"catatan_verifikasi": INTERNAL})
    act(page, "valid")

    # 3. the same form open in two tabs: the first save goes through, the second is refused, its text kept
    open_case(page, site, case_id, 3)
    other = context.new_page()
    open_case(other, site, case_id, 3)
    fill(page, FIELDS[3][2])
    act(page, "sampaikan")
    other.fill("#f_ringkasan_untuk_pimpinan", "Ringkasan dari tab kedua.")
    with other.expect_navigation() as sent:
        other.locator("[data-testid=action-sampaikan]").click()
    assert sent.value.status == 409
    assert other.locator("[data-testid=moved-on]").is_visible()
    assert "Ringkasan dari tab kedua." in other.locator("[data-testid=unsaved]").inner_text()
    other.close()
    log_out(page)

    # 4. Kadis is away: Kabid acts for Kadis and the history says on whose behalf
    log_in(page, site, "kadis")
    page.goto(f"{site.url}/wakil/")
    lend = page.locator("[data-testid=delegate-form]")
    lend.locator("select[name=role]").select_option("kadis")
    lend.locator("input[name=to]").fill("kabid")
    wib = dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
    lend.locator("input[name=starts]").fill((wib - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    lend.locator("input[name=ends]").fill((wib + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    lend.locator("input[name=reason]").fill("Dinas luar kota")
    submit_and_wait(page, lend.locator("button[type=submit]"))
    assert "kabid" in page.locator("main").inner_text().lower() and page.locator("p.flash[role=status]").count() == 1
    log_out(page)
    log_in(page, site, "kabid")
    open_case(page, site, case_id, 4)
    assert "Rahmat Hidayat" not in page.locator("[data-testid=report]").inner_text()  # anonymous to leaders
    fill(page, FIELDS[4][2])
    act(page, "teruskan")
    page.goto(f"{site.url}/kasus/{case_id}")
    acting = page.locator("[data-testid=history-acting]")
    assert acting.count() == 1 and "atas nama Kadis" in acting.inner_text(), acting.all_inner_texts()

    # the leaders' dashboard, seen by the acting Kadis
    page.goto(f"{site.url}/dasbor/laporisp4n")
    assert page.locator("[data-testid=dashboard]").is_visible()
    assert page.locator("figure.chart svg").count() >= 1
    shot(page, "06-dashboard", docs="dashboard.png")
    log_out(page)

    # 5-7: the OPD answers; Kadis OPD returns it for revision, then approves the revised answer
    step(page, site, case_id, 5)
    step(page, site, case_id, 6, fields={"jawaban": "Akan ditambal."})
    step(page, site, case_id, 7, action="kembalikan", fields={"catatan_kadis_opd": "Sebutkan tanggal penambalan."})
    log_in(page, site, "pejabat_penghubung.dinkes")
    open_case(page, site, case_id, 6)
    assert "Sebutkan tanggal penambalan." in page.locator("[data-testid=returned]").inner_text()
    fill(page, {"jawaban": "Akan ditambal pada 3 Desember."})
    act(page, "ajukan")
    log_out(page)
    step(page, site, case_id, 7)

    # 8-9: the OPD sends the answer, Admin Utama forwards it to the reporter
    step(page, site, case_id, 8)
    log_in(page, site, "admin_utama")
    open_case(page, site, case_id, 9)
    assert page.locator("[data-testid=history-returned]").count() == 1
    shot(page, "04-case", docs="case.png")
    fill(page, FIELDS[9][2])
    act(page, "teruskan")
    assert page.locator("[data-testid=case-closed]").count() == 1 or site.state(case_id) == "selesai"

    # staff find it again: a typed tracking code opens the case itself, words from the title list it
    def search(text: str) -> None:
        page.goto(f"{site.url}/kasus")
        page.fill("input[name=q]", text)
        submit_and_wait(page, page.locator("[data-testid=search-form] button[type=submit]"))

    search(code)
    assert page.url.endswith(f"/kasus/{case_id}") and page.locator("[data-testid=case-title]").inner_text() == title
    search(title)  # the list opens on open cases; this one is finished, so widen it to all
    with page.expect_navigation():
        page.locator("[data-testid=facets] a", has_text="Semua").first.click()
    hits = page.locator("[data-testid=case-list] tr[data-case]")
    assert hits.count() == 1, page.locator("main").inner_text()
    assert int(hits.first.get_attribute("data-case")) == case_id
    assert title in hits.first.inner_text()
    shot(page, "05-search")
    log_out(page)

    assert site.state(case_id) == "selesai"
    # the reporter: the public answer and the final status, never the internal notes or the name
    track(page, site, code)
    assert page.locator("[data-testid=status]").inner_text() == "Selesai, jawaban telah diteruskan kepada pelapor"
    assert page.locator("[data-testid=answer-jawaban_akhir]").inner_text() == ANSWER
    body = page.locator("main").inner_text()
    for secret in (INTERNAL, "Sebutkan tanggal penambalan.", "Segera koordinasikan", "Rahmat Hidayat", "lubang.png"):
        assert secret not in body, secret
    shot(page, "02-tracking")


def test_a_report_that_is_not_valid_is_closed_at_verification(page, site):  # noqa: F811
    title = unique("Iklan jual pulsa")
    code = submit_report(page, site, title, name="Anon")
    log_in(page, site, "admin_utama")
    row = inbox_row(page, title)
    assert row.count() == 1
    case_id = int(row.get_attribute("data-case"))
    log_out(page)
    step(page, site, case_id, 1)
    reason = "Isi laporan bukan pengaduan layanan publik."
    step(page, site, case_id, 2, action="tidak_valid",
         fields={"catatan_verifikasi": INTERNAL, "alasan_tidak_valid": reason})
    assert site.state(case_id) == "tidak_valid"

    track(page, site, code)
    assert page.locator("[data-testid=status]").inner_text() == "Ditutup, laporan tidak valid"
    assert "Laporan tidak dapat ditindaklanjuti" in page.locator("[data-testid=public-message]").inner_text()
    body = page.locator("main").inner_text()
    assert reason in body and INTERNAL not in body
