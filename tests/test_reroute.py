"""Re-routing (*bukan wewenang*): an OPD hands a report back to the Kadis's disposition, which routes it
to another OPD. Written in the YAML only (LAPOR step 5's action ``bukan_wewenang`` back to step 4);
through the web on SQLite and PostgreSQL, CSRF on."""

from __future__ import annotations

import re

import pytest
from conftest import REPORT
from web_helpers import (
    advance,
    case_id_for_code,
    case_row,
    history_count,
    text_of,
)

from runner import services

PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"
REASON = "Sekolah tersebut dikelola Dinas Pendidikan dan Kebudayaan, bukan Dinas Kesehatan."


@pytest.fixture
def at_dinkes(citizen, factory, registry, actor):
    """A public report the Kadis forwarded to Dinas Kesehatan: open at step 5 there."""
    r = citizen.submit(PUBLIC_FORM, REPORT, control="nonce")
    assert r.status_code == 302
    code = text_of(citizen.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
    case_id = case_id_for_code(factory, code)
    advance(factory, registry, actor, case_id, 5)
    assert case_row(factory, case_id).unit_id == "dinkes"
    return case_id


def _routes(html: str) -> list[str]:
    """The OPDs the history shows the case was routed to, in order."""
    history = html[html.index('data-testid="history"'):]
    return re.findall(r"<dt>OPD tujuan</dt><dd>([^<]+)</dd>", history)


def test_not_our_remit_goes_back_to_the_kadis_who_routes_it_elsewhere(app, staff, at_dinkes, factory, registry, actor):
    case_id = at_dinkes
    dinkes, kadis, disdik = staff("operator_opd.dinkes"), staff("kadis"), staff("operator_opd.disdik")
    assert case_id in dinkes.inbox_ids() and case_id not in disdik.inbox_ids()

    r = dinkes.act(case_id, "bukan_wewenang", {"alasan_bukan_wewenang": ""})  # the reason is required
    assert r.status_code == 400 and 'data-testid="error-alasan_bukan_wewenang"' in r.get_data(as_text=True)
    assert case_row(factory, case_id).state == "terima_disposisi"

    assert dinkes.act(case_id, "bukan_wewenang", {"alasan_bukan_wewenang": REASON}).status_code == 302
    case = case_row(factory, case_id)
    assert case.state == "disposisi_pimpinan"
    assert case_id in kadis.inbox_ids() and case_id not in dinkes.inbox_ids()
    back = dinkes.get(f"/kasus/{case_id}")  # still Dinkes's to read until the Kadis routes it; not to act on
    assert back.status_code == 200 and 'data-testid="step-form"' not in back.get_data(as_text=True)
    page = kadis.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert REASON in page and "Bukan wewenang" in page

    r = kadis.act(case_id, "teruskan", {"opd_tujuan": "disdik", "isi_disposisi": "Mohon ditangani Disdik."})
    assert r.status_code == 302
    case = case_row(factory, case_id)
    assert (case.state, case.unit_id) == ("terima_disposisi", "disdik")
    assert case_id in disdik.inbox_ids() and disdik.get(f"/kasus/{case_id}").status_code == 200
    assert case_id not in dinkes.inbox_ids()
    assert dinkes.get(f"/kasus/{case_id}").status_code == 404  # the first OPD lost sight of it
    with factory() as s:  # nor is it in the OPD's list of all its cases, open or closed
        rows = services.browse(s, registry, actor("operator_opd.dinkes"), open_only=False, page=1, per_page=50)
        assert case_id not in {row.id for row in rows}

    history = kadis.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert _routes(history) == ["Dinas Kesehatan", "Dinas Pendidikan dan Kebudayaan"]
    assert REASON in history
    assert history_count(factory, case_id) == 7  # opened, steps 1-4, bukan wewenang, step 4 again

    assert disdik.act(case_id, "teruskan_ke_penghubung", {"catatan_operator": "Segera."}).status_code == 302
    assert case_row(factory, case_id).state == "koordinasi_jawaban"


def test_only_the_opd_holding_it_can_return_it(app, staff, at_dinkes, factory):
    r = staff("operator_opd.disdik").get(f"/kasus/{at_dinkes}")
    assert r.status_code == 404
    page = staff("kadis").get(f"/kasus/{at_dinkes}").get_data(as_text=True)
    assert 'data-testid="action-bukan_wewenang"' not in page  # the Kadis reads it but step 5 is the OPD's
