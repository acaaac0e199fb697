"""The guiding case page in chromium (the set-up of tests/test_browser.py): a case sent back opens
with its reason above the report and the form, the requirements tick, and step 9 starts with step 8's
answer, sent as it stands."""

from __future__ import annotations

import pytest

from runner import services
from runner.store import transaction
from test_browser import browser, log_in, log_out, page, site, submit_and_wait, unique  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_returned_case_and_a_prefilled_answer(page, site):  # noqa: F811
    title = unique("Drainase tersumbat")
    case_id = site.new_report(title, upto=7)
    reason = "Lengkapi jadwal pengerukan."
    with transaction(site.factory) as s:
        services.perform_step(s, site.registry, case_id, site.actor("kadis_opd.dinkes"), "kembalikan",
                              {"catatan_kadis_opd": reason}, expected_version=None)

    log_in(page, site, "pejabat_penghubung.dinkes")
    page.goto(f"{site.url}/kasus/{case_id}")
    banner = page.locator("[data-testid=returned]")
    assert banner.is_visible() and reason in banner.inner_text()
    # read top to bottom: the banner, the report, then the form
    tops = [page.locator(f"[data-testid={t}]").bounding_box()["y"] for t in ("returned", "report", "step-form")]
    assert tops == sorted(tops), tops
    boxes = page.locator("[data-testid=requirement]")
    assert boxes.count() == 2  # step 6: ATK, Komputer
    boxes.first.check()
    assert boxes.first.is_checked()
    page.fill("#f_jawaban", "Pengerukan dijadwalkan Senin.")
    submit_and_wait(page, page.locator("[data-testid=action-ajukan]"))
    assert site.state(case_id) == "verifikasi_jawaban"
    log_out(page)

    with transaction(site.factory) as s:
        services.perform_step(s, site.registry, case_id, site.actor("kadis_opd.dinkes"), "setujui", {},
                              expected_version=None)
        services.perform_step(s, site.registry, case_id, site.actor("operator_opd.dinkes"), "kirim",
                              {"jawaban": "Saluran dikeruk Senin, 7 Desember."}, expected_version=None)
    log_in(page, site, "admin_utama")
    page.goto(f"{site.url}/kasus/{case_id}")
    assert page.locator("[data-testid=returned]").count() == 0
    assert page.locator("#f_jawaban_akhir").input_value() == "Saluran dikeruk Senin, 7 Desember."
    submit_and_wait(page, page.locator("[data-testid=action-teruskan]"))
    assert site.state(case_id) == "selesai"
    log_out(page)
