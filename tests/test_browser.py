"""The real app in a real browser: Playwright driving Debian's chromium (never a downloaded one).

The app is set up the way a demo starts (``sop demo`` on a fresh SQLite file) and served by
werkzeug in a background thread. Set SOP_SCREENSHOT=1 to (re)write docs/screenshot.png, the README's
picture of a case page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from runner import services
from runner.errors import SopError
from runner.registry import Registry
from runner.store import Case, User, make_engine, session_factory, transaction
from web_helpers import ANSWER, DEFINITIONS, REPO, STEPS, advance, dispose, history_count, make_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
SCREENSHOT = REPO / "docs" / "screenshot.png"


class Site:
    def __init__(self, url: str, factory, registry: Registry):
        self.url = url
        self.factory = factory
        self.registry = registry

    def actor(self, username: str):
        with self.factory() as s:
            return services.actor_for(s.scalar(select(User).where(User.username == username)))

    def new_report(self, title: str, upto: int = 1) -> int:
        """A report filed straight through the services, advanced so that activity ``upto`` is open."""
        report = {"judul": title, "isi_laporan": "Dibuat untuk uji peramban.", "nama_pelapor": "Siti"}
        with transaction(self.factory) as s:
            case_id = services.start_case(s, self.registry, "laporisp4n", "pengaduan", report,
                                          actor=self.actor("admin_utama")).id
        advance(self.factory, self.registry, self.actor, case_id, upto)
        return case_id

    def state(self, case_id: int) -> str:
        with self.factory() as s:
            return s.get(Case, case_id).state


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from werkzeug.serving import make_server

    db_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'b.db'}"
    sop = shutil.which("sop", path=str(Path(sys.executable).parent))
    command = [sop] if sop else [sys.executable, "-c", "import sys; from runner.cli import main; sys.exit(main())"]
    subprocess.run([*command, "demo", "--database", db_url, "--definitions", str(DEFINITIONS)],
                   check=True, capture_output=True, cwd=REPO)
    try:
        app = make_app(db_url, TESTING=False)
    except SopError as exc:
        pytest.fail(f"create_app refused the demo database: {exc}")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sop-browser-server", daemon=True)
    thread.start()
    engine = make_engine(db_url)
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", session_factory(engine),
                   Registry.from_directory(DEFINITIONS))
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        engine.dispose()
        dispose(app)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the "
                    "browser tests; `playwright install` is not used")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python playwright package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


# -- what a person does ---------------------------------------------------------------------------
def submit_and_wait(page, locator, *, double: bool = False):
    with page.expect_navigation():
        locator.dblclick() if double else locator.click()
    page.wait_for_load_state()


def log_in(page, site: Site, username: str) -> None:
    page.goto(f"{site.url}/masuk")
    page.fill("#username", username)
    page.fill("#password", "demo-sop-2026")
    submit_and_wait(page, page.locator("main form button[type=submit]"))
    assert page.locator("[data-testid=who]").is_visible(), f"{username} could not sign in"


def log_out(page) -> None:
    submit_and_wait(page, page.locator("form[action='/keluar'] button"))
    assert page.locator("[data-testid=who]").count() == 0


def inbox_row(page, title: str):
    return page.locator("[data-testid=inbox] tr", has_text=title)


def fill(page, fields: dict) -> None:
    for field_id, value in fields.items():
        control = page.locator(f"#f_{field_id}")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:6]}"


# -- tests ----------------------------------------------------------------------------------------
def test_a_report_walks_through_every_step(page, site):
    title = "Jalan berlubang di Putussibau"  # the only report with this title in the module's database
    page.goto(site.url + "/")
    submit_link = page.locator("[data-testid=submit-laporisp4n]")
    with page.expect_navigation():
        submit_link.click()
    fill(page, {"judul": title, "isi_laporan": "Lubang besar di depan pasar, sudah dua minggu.",
                "lokasi": "Jl. Lintas Utara", "nama_pelapor": "Budi", "kontak_pelapor": "0812345678"})
    submit_and_wait(page, page.locator("[data-testid=send]"))
    code = page.locator("[data-testid=tracking-code]").inner_text().strip()
    assert len(code) == 14 and code.count("-") == 2

    case_id = None
    for no, username, action, fields in STEPS:
        log_in(page, site, username)
        row = inbox_row(page, title)
        assert row.count() == 1, f"step {no}: the report is not in {username}'s inbox"
        case_id = int(row.get_attribute("data-case"))
        with page.expect_navigation():
            row.locator("a").first.click()
        assert page.locator("[data-testid=case-step]").inner_text().startswith(f"{no}. ")
        fill(page, fields)
        if no == 4 and os.environ.get("SOP_SCREENSHOT") == "1":
            # the case header and the whole step card, fields filled in, both action buttons in view
            page.evaluate("document.activeElement && document.activeElement.blur()")
            page.set_viewport_size({"width": 1200, "height": 1280})
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(SCREENSHOT))
            page.set_viewport_size({"width": 1200, "height": 900})
        submit_and_wait(page, page.locator(f"[data-testid=action-{action}]"))
        assert page.locator("p.flash[role=status]").count() == 1, f"step {no}: no confirmation shown"
        log_out(page)

    assert site.state(case_id) == "selesai"
    assert history_count(site.factory, case_id) == 1 + len(STEPS)
    page.goto(f"{site.url}/")
    page.fill("#kode", code)
    submit_and_wait(page, page.locator("form[action='/lacak'] button"))
    assert page.locator("[data-testid=status]").inner_text() == "Selesai, jawaban telah diteruskan kepada pelapor"
    assert page.locator("[data-testid=answer-jawaban_akhir]").inner_text() == ANSWER
    body = page.content()
    assert "Budi" not in body and "0812345678" not in body


def test_another_opd_never_sees_the_case(page, site):
    title = unique("Puskesmas tutup di jam kerja")
    case_id = site.new_report(title, upto=5)  # forwarded to dinkes, waiting for its operator

    log_in(page, site, "operator_opd.dinkes")  # the control: the right OPD does see it
    assert inbox_row(page, title).count() == 1
    log_out(page)

    log_in(page, site, "operator_opd.disdik")
    assert page.locator(f"[data-case='{case_id}']").count() == 0
    assert title not in page.content()
    response = page.goto(f"{site.url}/kasus/{case_id}")
    assert response.status == 404  # as if it did not exist
    assert page.locator("[data-testid=error-message]").is_visible()
    assert title not in page.content()
    log_out(page)


def test_language_switch(page, site):
    page.goto(site.url + "/lacak")
    assert page.locator("html").get_attribute("lang") == "id"
    button = page.locator("[data-testid=lang]")
    assert button.inner_text() == "English"
    heading = page.locator("h1").inner_text()

    submit_and_wait(page, button)
    assert page.url.startswith(site.url + "/lacak")  # stays on the same page
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Track a report" != heading
    assert page.locator("[data-testid=lang]").inner_text() == "Bahasa Indonesia"

    submit_and_wait(page, page.locator("[data-testid=lang]"))
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("h1").inner_text() == heading
    assert page.locator("[data-testid=lang]").inner_text() == "English"


def test_double_click_performs_the_step_once(page, site):
    title = unique("Lampu jalan mati")
    case_id = site.new_report(title, upto=1)
    before = history_count(site.factory, case_id)

    log_in(page, site, "admin_utama")
    page.goto(f"{site.url}/kasus/{case_id}")
    fill(page, {"kanal": "sms"})
    submit_and_wait(page, page.locator("[data-testid=action-simpan]"), double=True)

    assert history_count(site.factory, case_id) == before + 1
    assert site.state(case_id) == "verifikasi_laporan"
    assert page.locator("[data-testid=moved-on]").count() == 0
    assert page.locator("p.flash[role=status]").count() == 1
    log_out(page)
