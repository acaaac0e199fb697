"""Every kind of page on a 360 × 740 phone, in Indonesian and English, checked by axe-core.

For each page: no serious or critical axe-core violation (each one printed when the test fails), no
horizontal scrolling (``scrollWidth`` within the 360 px viewport), and under 100 KB of HTML. Forms
sent with mistakes also check where the focus lands: on the first marked field.

axe-core is the npm package pinned in tests/browser/package.json (``npm ci`` there; ``.ci/run``
does it). It is injected with Playwright's ``add_script_tag`` into a context made with
``bypass_csp``, since the app's Content-Security-Policy rightly refuses any script it did not serve.
Debian's chromium and the demo site come from tests/test_browser.py's fixtures, instantiated for
this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import select

from runner.store import Case, Definition
from test_browser import browser, log_in, site, submit_and_wait  # noqa: F401 - fixtures used by name

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WIDTH, HEIGHT = 360, 740
MAX_HTML = 100_000  # bytes of the page itself, before images, styles and scripts
SERIOUS = ("serious", "critical")


@pytest.fixture
def phone(browser):  # noqa: F811 - the fixture imported above
    if not AXE.exists():
        message = f"{AXE} is missing: run `npm ci` in tests/browser"
        if os.environ.get("SOP_TEST_REQUIRE_ALL"):
            pytest.fail(message)
        pytest.skip(message)
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, bypass_csp=True,
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def set_language(page, site, lang: str) -> None:
    page.goto(f"{site.url}/lacak")
    if page.locator("html").get_attribute("lang") != lang:
        submit_and_wait(page, page.locator("[data-testid=lang]"))
    assert page.locator("html").get_attribute("lang") == lang


def check(page, what: str) -> None:
    """axe-core, the width and the size of the page now shown."""
    size = len(page.content().encode("utf-8"))  # measured before axe-core's own script joins the page
    assert size < MAX_HTML, f"{what}: {size} bytes of HTML"

    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""")
    serious = [v for v in result if v["impact"] in SERIOUS]
    report = "\n".join(f"[{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"][:8])
                       for v in serious)
    assert not serious, f"{what}: axe-core found\n{report}"

    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > WIDTH:
        wide = page.evaluate("""(limit) => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > limit + 1)
            .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
                                 + ' right=' + Math.round(e.getBoundingClientRect().right))""", WIDTH)
        pytest.fail(f"{what}: {width} px wide on a {WIDTH} px screen; past the edge: {wide}")


# -- the pages ------------------------------------------------------------------------------------
def go(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)


def _definition_id(site, sop_id: str = "laporisp4n") -> int:
    with site.factory() as s:
        return s.scalars(select(Definition.id).where(Definition.sop_id == sop_id).order_by(Definition.id)).first()


def _tracking_code(site, case_id: int) -> str:
    with site.factory() as s:
        return s.get(Case, case_id).tracking_code


def public_home(page, site):
    go(page, f"{site.url}/")


def submit_form(page, site):
    go(page, f"{site.url}/lapor/laporisp4n/pengaduan")


def submit_with_errors(page, site):
    submit_form(page, site)
    submit_and_wait(page, page.locator("[data-testid=send]"))
    assert page.locator("[aria-invalid=true]").count() > 0


def tracking_page(page, site):
    case_id = site.new_report("Lampu jalan padam di Sintang", upto=3)
    go(page, f"{site.url}/lacak?kode={_tracking_code(site, case_id)}")
    assert page.locator("[data-testid=status]").count() == 1


def login_page(page, site):
    go(page, f"{site.url}/masuk")


def login_with_error(page, site):
    go(page, f"{site.url}/masuk")
    page.fill("#username", "admin_utama")
    page.fill("#password", "not-the-password")
    submit_and_wait(page, page.locator("main form button[type=submit]"))


def inbox(page, site):
    site.new_report("Selokan tersumbat di Kapuas", upto=1)
    go(page, f"{site.url}/kotak-masuk")
    assert page.locator("[data-testid=inbox] tbody tr").count() > 0


def case_list(page, site):
    go(page, f"{site.url}/kasus?semua=1")


def new_case(page, site):
    go(page, f"{site.url}/kotak-masuk")
    page.locator("main .head a.button").first.click()
    page.wait_for_load_state()


def case_with_form(page, site):
    case_id = site.new_report("Trotoar rusak di Singkawang", upto=1)
    go(page, f"{site.url}/kasus/{case_id}")
    assert page.locator("[data-testid=step-form]").count() == 1


def case_with_errors(page, site):
    case_with_form(page, site)
    submit_and_wait(page, page.locator("[data-testid=step-form] button[name=action]").first)
    assert page.locator("[aria-invalid=true]").count() > 0


def case_with_history(page, site):
    case_id = site.new_report("Banjir di jalan Gajah Mada, Pontianak Selatan", upto=9)
    go(page, f"{site.url}/kasus/{case_id}")
    assert page.locator("[data-testid=history] li").count() >= 8


def admin_index(page, site):
    go(page, f"{site.url}/admin/")


def admin_version(page, site):
    go(page, f"{site.url}/admin/versi/{_definition_id(site)}")


def editor(page, site):
    go(page, f"{site.url}/admin/sunting/laporisp4n")


def editor_with_problems(page, site):
    editor(page, site)
    source = page.input_value("#source")
    page.fill("#source", source.replace("time_limit: 30 menit", "time_limit: 30 menitan", 1))
    submit_and_wait(page, page.locator("[data-testid=check]"))
    assert page.locator("[data-testid=problem-list] li").count() > 0


def people_index(page, site):
    go(page, f"{site.url}/admin/orang/")


def person(page, site):
    go(page, f"{site.url}/admin/orang/akun/kadis")


def delegation_page(page, site):
    go(page, f"{site.url}/wakil/")


def document_page(page, site):
    go(page, f"{site.url}/sop/{_definition_id(site)}/dokumen")


def dashboard(page, site):
    go(page, f"{site.url}/dasbor/laporisp4n")


def answered_reports(page, site):
    go(page, f"{site.url}/laporan/laporisp4n")


def api_tokens(page, site):
    go(page, f"{site.url}/akun/token")


def case_search(page, site):
    go(page, f"{site.url}/kasus?q=jalan&semua=1")


def error_page(page, site):
    assert page.goto(f"{site.url}/kasus/999999").status == 404


PAGES: dict[str, tuple[str | None, Callable]] = {
    "public home": (None, public_home),
    "submit form": (None, submit_form),
    "submit with errors": (None, submit_with_errors),
    "tracking page": (None, tracking_page),
    "login": (None, login_page),
    "login with error": (None, login_with_error),
    "inbox": ("admin_utama", inbox),
    "case list": ("admin_utama", case_list),
    "new case": ("admin_utama", new_case),
    "case with a form": ("admin_utama", case_with_form),
    "case with errors": ("admin_utama", case_with_errors),
    "case with its history": ("admin_utama", case_with_history),
    "case search": ("admin_utama", case_search),
    "API tokens": ("admin_utama", api_tokens),
    "dashboard": ("kadis", dashboard),
    "answered reports": (None, answered_reports),
    "not found": ("admin_utama", error_page),
    "admin index": ("admin_sop", admin_index),
    "admin version": ("admin_sop", admin_version),
    "editor": ("admin_sop", editor),
    "editor with problems": ("admin_sop", editor_with_problems),
    "people": ("admin_sop", people_index),
    "an account": ("admin_sop", person),
    "delegation page": ("kadis", delegation_page),
    "document page": ("admin_utama", document_page),
}


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_fits_a_phone_and_passes_axe(phone, site, name, lang):  # noqa: F811
    user, visit = PAGES[name]
    if user:
        log_in(phone, site, user)
    set_language(phone, site, lang)
    visit(phone, site)
    check(phone, f"{name} ({lang})")


@pytest.mark.parametrize("visit", [submit_with_errors, case_with_errors], ids=["public", "staff"])
def test_a_refused_form_puts_the_focus_on_its_first_marked_field(phone, site, visit):  # noqa: F811
    if visit is case_with_errors:
        log_in(phone, site, "admin_utama")
    visit(phone, site)
    focused = phone.evaluate("() => [document.activeElement.id, document.activeElement.getAttribute('aria-invalid')]")
    first = phone.locator("[aria-invalid=true]").first.get_attribute("id")
    assert focused == [first, "true"]
    # the summary at the top links to that field
    assert phone.locator(f".error-summary a[href='#{first}']").count() == 1


def test_the_keyboard_reaches_the_skip_link_first_and_it_jumps_to_the_content(phone, site):  # noqa: F811
    phone.goto(f"{site.url}/")
    phone.keyboard.press("Tab")
    assert phone.evaluate("() => document.activeElement.getAttribute('href')") == "#main"
    # the focus ring is visible: an outline, not the browser's default removed
    outline = phone.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    phone.keyboard.press("Enter")
    assert phone.evaluate("() => document.activeElement.id") == "main"
