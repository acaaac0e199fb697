"""The admin editor in a real browser (Playwright + Debian's chromium, as tests/test_browser.py):
an admin uploads a broken definition, sees each problem at its line, fixes it in the text box,
previews it and publishes it, and the new version appears in the list.

Its own demo site (the fixtures of test_browser.py, instantiated for this module), because
publishing changes what the other browser tests' site would serve.
"""

from __future__ import annotations

import pytest

from conftest import LAPOR
from runner.definition import check_text
from test_browser import browser, log_in, page, site, submit_and_wait  # noqa: F401 - fixtures used by name

pytestmark = pytest.mark.browser

SOURCE = LAPOR.read_text(encoding="utf-8")
BROKEN = (SOURCE.replace("time_limit: 30 menit", "time_limit: 30 menitan", 1)
          .replace("start: input_laporan", "start: input_laporann", 1))
FIXED = SOURCE.replace("time_limit: 30 menit", "time_limit: 1 jam", 1)


def test_an_admin_fixes_a_broken_upload_in_the_browser_and_publishes_it(page, site, tmp_path):  # noqa: F811
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    log_in(page, site, "admin_sop")
    page.click("[data-testid=nav-admin]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=versions-laporisp4n] tbody tr").count() == 1
    page.click("[data-testid=edit-laporisp4n]")
    page.wait_for_load_state()
    assert page.input_value("#source") == SOURCE  # the current version, to revise

    upload = tmp_path / "laporisp4n.yaml"
    upload.write_text(BROKEN, encoding="utf-8")
    page.set_input_files("#file", str(upload))
    submit_and_wait(page, page.locator("[data-testid=check]"))

    _, problems = check_text(BROKEN)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) >= 2
    assert f"{len(errors)} kesalahan" in page.locator("[data-testid=check-verdict]").inner_text()  # Indonesian UI
    assert page.locator("[data-testid=publish]").count() == 0
    for p in errors:  # beside its line, in the numbered listing
        row = page.locator(f"#L{p.line}")
        assert "has-problem" in (row.get_attribute("class") or "")
        assert p.message.split(" (did you mean")[0] in row.locator(f"[data-testid=problem-at-{p.line}]").inner_text()
    assert page.input_value("#source") == BROKEN  # the uploaded text, ready to fix

    # "edit there" puts the cursor on the problem's line in the text box
    first = errors[0]
    page.locator(f"a.to-editor[data-line='{first.line}']").first.click()
    caret = page.evaluate("() => { const b = document.getElementById('source'); "
                          "return [document.activeElement === b, b.value.slice(0, b.selectionStart).split('\\n').length]; }")
    assert caret == [True, first.line]

    page.fill("#source", FIXED)
    submit_and_wait(page, page.locator("[data-testid=check]"))
    assert "Definisi sah" in page.locator("[data-testid=check-verdict]").inner_text()
    assert page.locator("[data-testid=preview]").is_visible()
    page.locator("[data-testid=document-preview] summary").click()
    assert page.locator("[data-testid=document-preview] svg").first.is_visible()
    assert page.locator("[data-testid=dry-run]").is_visible()

    submit_and_wait(page, page.locator("[data-testid=publish]"))
    assert page.url.endswith("/admin/sop/laporisp4n")
    assert "Diterbitkan" in page.locator("p.flash").inner_text()
    rows = page.locator("[data-testid=versions-laporisp4n] tbody tr")
    assert rows.count() == 2
    assert "admin_sop" in rows.first.inner_text()
    assert rows.first.locator("[data-testid=current]").count() == 1
    assert not blocked, blocked
