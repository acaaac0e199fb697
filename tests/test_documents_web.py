"""The SOP document page per stored version, its downloads, and the case map on the staff case page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from conftest import REPORT
from runner.services.demo import DEMO_ADMIN
from runner.store import Case, Definition
from web_helpers import DEMO_PASSWORD, Visitor, advance, case_id_for_code
from test_web import file_report


def definition_id(factory, sop_id: str = "laporisp4n") -> int:
    with factory() as s:
        return s.scalar(select(Definition.id).where(Definition.sop_id == sop_id).order_by(Definition.id.desc()))


def signed_in(app, username: str) -> Visitor:
    v = Visitor(app)
    v.login(username, DEMO_PASSWORD)
    return v


@pytest.mark.parametrize("username", ["kadis", "operator_opd.dinkes", DEMO_ADMIN])
def test_document_page_and_downloads(app, factory, username):
    v = signed_in(app, username)
    did = definition_id(factory)
    page = v.get(f"/sop/{did}/dokumen")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    agency = "DINAS KOMUNIKASI INFORMATIKA STATISTIK KABUPATEN KAPUAS HULU"
    assert html.index(agency) < html.index("Nomor SOP") < html.index("<svg")
    assert 'class="sop-flowchart"' in html and "<script>" not in html.split("</main>")[0]
    css = re.search(r'href="(/sop/dokumen-portrait\.css)"', html)
    assert css, "the document's stylesheet is linked"
    sheet = v.get(css.group(1))
    assert sheet.status_code == 200 and sheet.mimetype == "text/css"
    assert "@page { size: A4 portrait" in sheet.get_data(as_text=True)

    pdf = v.get(f"/sop/{did}/dokumen.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert re.fullmatch(r'attachment; filename="laporisp4n-[0-9a-f]{12}\.pdf"', pdf.headers["Content-Disposition"])

    svg = v.get(f"/sop/{did}/dokumen.svg?orientation=landscape")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.headers["Content-Disposition"].endswith('.svg"')
    ET.fromstring(svg.get_data(as_text=True).split("\n", 1)[1])
    assert f'href="/sop/{did}/dokumen.pdf' in html and f'href="/sop/{did}/dokumen.svg' in html


def test_unknown_ids_and_orientations_are_404(app, factory):
    v = signed_in(app, "kadis")
    did = definition_id(factory)
    for url in ("/sop/999999/dokumen", "/sop/0/dokumen", "/sop/99999999999999999999/dokumen.pdf",
                "/sop/999999/dokumen.svg", f"/sop/{did}/dokumen?orientation=sideways", "/sop/abc/dokumen",
                "/sop/dokumen-sideways.css"):
        r = v.get(url)
        assert r.status_code == 404, url


def test_signed_out_is_sent_to_sign_in(app, factory):
    did = definition_id(factory)
    for url in (f"/sop/{did}/dokumen", f"/sop/{did}/dokumen.pdf", f"/sop/{did}/dokumen.svg"):
        r = Visitor(app).get(url)
        assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/masuk", url


def test_case_page_shows_the_map_with_the_current_and_passed_steps(app, factory, registry, actor):
    case_id = case_id_for_code(factory, file_report(Visitor(app), REPORT))
    advance(factory, registry, actor, case_id, 4)  # steps 1-3 done; open at 4 (the disposition)
    v = signed_in(app, "kadis")
    html = v.get(f"/kasus/{case_id}").get_data(as_text=True)
    with factory() as s:
        did = s.scalar(select(Case.definition_id).where(Case.id == case_id))
    assert f'href="/sop/{did}/dokumen"' in html
    section = html[html.index('data-testid="case-map"'):]
    section = section[:section.index("</section>")]
    current = re.findall(r'<g class="([^"]*)" data-node="([^"]*)" data-state="[^"]*" aria-current="step">', section)
    assert current == [("symbol decision current", "disposisi_pimpinan")]
    for done in ("input_laporan", "verifikasi_laporan", "sampaikan_ke_pimpinan"):
        assert re.search(rf'<g class="symbol (process|decision) visited" data-node="{done}"', section), done
    # not reached yet (a decision since step 5 may hand the case back as "bukan wewenang")
    assert re.search(r'<g class="symbol decision" data-node="terima_disposisi"', section)
    assert ">▶ 4<" in section and ">✓ 1<" in section and ">✓ 3<" in section  # marked without colour too
    assert 'aria-label="' in section and "<title>" in section
    assert re.search(r'class="arrow taken" data-from="verifikasi_laporan" data-to="sampaikan_ke_pimpinan"', section)
    assert "Kelengkapan" not in section  # compact: no Mutu Baku columns
