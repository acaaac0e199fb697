"""The official SOP document (runner/document): flowchart tables as SVG, the HTML document, the PDF,
and `sop document`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO
from runner.cli import main
from runner import yamlsource
from runner.definition import display, load_file
from runner.document import charts, document_html, document_svg
from runner.document.layout import START, Highlight, Rect, chart
from sop_strategies import definitions, load

NS = {"s": "http://www.w3.org/2000/svg"}
FILES = sorted((REPO / "sop_definitions").glob("*.yaml")) + sorted((REPO / "docs" / "examples").glob("*.yaml"))
LAPOR = REPO / "sop_definitions" / "laporisp4n.yaml"


def squash(text: str) -> str:
    """Text compared across line breaks: no whitespace, no hyphens (a cut word gets one)."""
    return re.sub(r"[\s\-]+", "", text)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.split("\n", 1)[1] if svg.startswith("<?xml") else svg)


def texts(el: ET.Element, cls: str | None = None) -> list[str]:
    """The visible text elements (their lines joined), optionally only those of class ``cls``."""
    found = []
    for t in el.iter("{http://www.w3.org/2000/svg}text"):
        if cls is None or cls in (t.get("class") or "").split():
            found.append(" ".join("".join(s.itertext()) for s in t))
    return found


def groups(el: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in el.iter("{http://www.w3.org/2000/svg}g") if cls in (g.get("class") or "").split()]


def title_of(g: ET.Element) -> str:
    t = g.find("s:title", NS)
    return t.text or "" if t is not None else ""


def check_svg(sop, svg: str) -> None:
    """Every activity (number and name) and action label is shown; one symbol per activity, a
    diamond exactly for several actions; a terminator per flow start and per end."""
    root = parse(svg)
    visible = squash(" ".join(texts(root)))
    symbols = groups(root, "symbol")
    for a in sop.activities:
        assert squash(display(a.name)) in visible, a.name
        mine = [g for g in symbols if g.get("data-state") == a.id]
        assert len(mine) == 1, (a.id, len(mine))
        kind = "decision" if len(a.actions) > 1 else "process"
        assert kind in mine[0].get("class").split()
        assert [squash(t) for t in texts(mine[0])] == [str(a.no)]
        arrows = [g for g in groups(root, "arrow") if g.get("data-from") == a.id]
        for x in a.actions:
            label = display(x.label)
            assert any(label in title_of(g) for g in arrows), (a.id, x.id)
            if len(a.actions) > 1:  # a decision's branches are labelled on the drawing itself
                shown = squash(" ".join(t for g in arrows for t in texts(g, "label")))
                assert squash(label) in shown, (a.id, label)
    terminators = [g for g in symbols if "terminator" in g.get("class").split()]
    starts = [g for g in terminators if g.get("data-node") == START]
    assert len(starts) == len(sop.flows)
    for f in sop.flows:
        for e in f.ends:
            assert len([g for g in terminators if g.get("data-state") == e.id]) == 1, e.id


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_every_definition_draws_every_activity_and_action(path, orientation):
    sop = load_file(str(path))
    check_svg(sop, document_svg(sop, orientation=orientation))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_arrows_go_around_symbols(path):
    sop = load_file(str(path))
    for c in charts(sop) + charts(sop, orientation="landscape") + charts(sop, compact=True):
        for page in c.pages:
            assert_no_overlaps(page)
            assert_arrows_clear(page)


def test_lapor_return_for_revision_goes_back_up():
    sop = load_file(str(LAPOR))
    root = parse(document_svg(sop))
    back = [g for g in groups(root, "arrow") if g.get("data-from") == "verifikasi_jawaban"
            and g.get("data-to") == "koordinasi_jawaban"]
    assert len(back) == 1 and "return" in back[0].get("class").split()
    points = [tuple(map(float, p.split(","))) for p in back[0].find("s:polyline", NS).get("points").split()]
    assert points[-1][1] < points[0][1]  # it ends above where it starts
    assert any(b[1] < a[1] for a, b in zip(points, points[1:]))  # and climbs on the way


def test_hostile_names_cannot_break_the_svg():
    data, _smap = yamlsource.load(LAPOR.read_text(encoding="utf-8"))
    evil = 'Tutup </text></svg><script>alert("x")</script> & \'kutip\' ]]>\nbaris baru'
    data["activities"][1]["name"] = evil
    data["roles"][-1]["name"] = evil
    data["activities"][1]["actions"][0]["label"] = evil
    sop = load(data)
    svg = document_svg(sop)
    root = parse(svg)  # still one well-formed document
    assert not list(root.iter("script")) and not list(root.iter("{http://www.w3.org/2000/svg}script"))
    assert "<script>" not in svg
    check_svg(sop, svg)
    html = document_html(sop)
    assert "<script>" not in html


# -- generated definitions -------------------------------------------------------------------------
def assert_no_overlaps(page) -> None:
    boxes = [s.rect for s in page.symbols]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)


def assert_arrows_clear(page) -> None:
    """No arrow runs through a symbol other than the two it joins."""
    for arrow in page.arrows:
        for s in page.symbols:
            if s.node in (arrow.source, arrow.target):
                continue
            for (x1, y1), (x2, y2) in zip(arrow.points, arrow.points[1:]):
                seg = Rect(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))
                assert not _crosses(seg, s.rect), (arrow.source, arrow.target, s.node)


def _crosses(seg: Rect, r: Rect) -> bool:
    return seg.x < r.right and r.x < seg.right and seg.y < r.bottom and r.y < seg.bottom


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=definitions(), orientation=st.sampled_from(["portrait", "landscape"]))
def test_generated_definitions_always_render(data, orientation):
    sop = load(data)
    check_svg(sop, document_svg(sop, orientation=orientation))
    for c in charts(sop, orientation=orientation):
        for page in c.pages:
            assert_no_overlaps(page)
            assert_arrows_clear(page)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=definitions(), height=st.sampled_from([200.0, 300.0, 450.0]))
def test_pagination_puts_each_row_on_one_page_with_connectors_at_each_break(data, height):
    sop = load(data)
    for flow in sop.flows:
        c = chart(sop, flow, page_height=height)
        rows = [n for p in c.pages for n in p.nodes]
        expected = [START] + [a.id for a in sorted(sop.activities, key=lambda a: a.no) if a.flow == flow.id]
        assert sorted(rows) == sorted(expected + [e.id for e in flow.ends])  # each row exactly once
        assert len(rows) == len(set(rows))
        pairs: dict[str, dict[bool, int]] = {}
        for p in c.pages:
            assert_no_overlaps(p)
            assert_arrows_clear(p)
            assert p.height * p.scale <= height + 1
            for o in p.offpage:
                assert o.outgoing not in pairs.get(o.label, {}), o.label  # one of each end per letter
                pairs.setdefault(o.label, {})[o.outgoing] = p.number
                # both connectors carry the same letter and name each other's page
                assert any(s.kind == "connector" and s.label.lines == (o.label,) for s in p.symbols)
        for label, ends in pairs.items():
            assert set(ends) == {True, False}, label
        for brk in range(1, len(c.pages)):  # between page brk and brk + 1
            assert any(min(e.values()) <= brk < max(e.values()) for e in pairs.values()), brk


def test_case_map_marks_the_current_step_and_the_path_taken():
    sop = load_file(str(LAPOR))
    hl = Highlight(current="sampaikan_ke_pimpinan", visited=frozenset({"input_laporan", "verifikasi_laporan"}),
                   taken=frozenset({(None, "input_laporan"), ("input_laporan", "verifikasi_laporan"),
                                    ("verifikasi_laporan", "sampaikan_ke_pimpinan")}))
    (c,) = charts(sop, flow_id="pengaduan", compact=True, highlight=hl)
    (page,) = c.pages
    cells = {cell.role for cell in page.cells}
    assert "requirements" not in cells and "note" not in cells  # compact: no Mutu Baku, no Keterangan
    by_node = {s.node: s for s in page.symbols}
    assert by_node["sampaikan_ke_pimpinan"].classes == ("current",)
    assert by_node["input_laporan"].classes == ("visited",)
    assert by_node["disposisi_pimpinan"].classes == ()
    taken = {a.edge for a in page.arrows if "taken" in a.classes}
    assert taken == hl.taken
    no_texts = [cell.text.lines[0] for cell in page.cells if cell.role == "no" and cell.text]
    assert "▶ 3" in no_texts and "✓ 1" in no_texts and "✓ 2" in no_texts and "4" in no_texts


# -- HTML and PDF ----------------------------------------------------------------------------------
def test_html_identity_page_comes_first_in_order():
    sop = load_file(str(LAPOR))
    whole = document_html(sop)
    assert "@page { size: A4 portrait" in whole
    html = whole[whole.index("<body"):]
    i = sop.identity
    wanted = [i.agency, display(i.name), i.number, "25 April 2018", "16 Mei 2018", "23 Mei 2018",
              i.prepared_by.name, i.prepared_by.nip, i.checked_by.position, i.checked_by.name,
              i.approved_by.name, i.approved_by.nip, i.legal_basis[0], i.qualifications[0], i.equipment[0],
              "Pencatatan dan Pendataan", i.remarks[-1]]
    at = [html.find(w.replace("&", "&amp;")) for w in wanted]
    assert all(k >= 0 for k in at), [w for w, k in zip(wanted, at) if k < 0]
    assert at == sorted(at)
    assert at[-1] < html.find("<svg")
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    en = document_html(sop, locale="en")
    assert 'lang="en"' in en and "SOP number" in en and "Activity" in en and "Quality standard" in en


weasyprint = pytest.importorskip("weasyprint")


@pytest.mark.parametrize("orientation,size", [("portrait", (595, 842)), ("landscape", (842, 595))])
def test_pdf_is_a4_with_the_identity_page_first(orientation, size):
    from runner.document.pdf import document_pdf, render

    sop = load_file(str(LAPOR))
    doc = render(sop, orientation=orientation)
    assert len(doc.pages) >= 2
    for p in doc.pages:  # CSS pixels (1/96 in) -> points
        assert (round(p.width * 0.75), round(p.height * 0.75)) == size
    assert "sop-identity" in doc.pages[0].anchors and "sop-table-1" in doc.pages[1].anchors
    assert document_pdf(sop, orientation=orientation).startswith(b"%PDF")


# -- the command -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ext,start", [(".svg", b"<?xml"), (".html", b"<!doctype html>"), (".pdf", b"%PDF")])
def test_cli_writes_each_format(tmp_path, capsys, ext, start):
    out = tmp_path / f"lapor{ext}"
    assert main(["document", str(LAPOR), "-o", str(out), "--orientation", "landscape", "--lang", "en"]) == 0
    assert out.read_bytes().startswith(start)
    assert f"{out}: written" in capsys.readouterr().out
    if ext != ".pdf":
        assert "Activity" in out.read_text(encoding="utf-8")


def test_cli_one_flow(tmp_path):
    out = tmp_path / "rekap.svg"
    assert main(["document", str(LAPOR), "-o", str(out), "--flow", "rekap_bulanan"]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "arsip_laporan" in svg and "input_laporan" not in svg


@pytest.mark.parametrize("argv,message", [
    (["-o", "x.docx"], "unknown document format '.docx'"),
    (["-o", "x"], "unknown document format '(none)'"),
    (["-o", "x.svg", "--flow", "nope"], "has no flow 'nope'"),
])
def test_cli_refuses_with_exit_2(tmp_path, capsys, argv, message):
    argv = [a if not a.startswith("x") else str(tmp_path / a) for a in argv]
    assert main(["document", str(LAPOR), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_broken_definition(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(LAPOR.read_text(encoding="utf-8").replace("to: verifikasi_laporan", "to: tidak_ada"),
                      encoding="utf-8")
    out = tmp_path / "out.pdf"
    assert main(["document", str(broken), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(broken))}:\d+:\d+: error: .*tidak_ada", err), err
    assert not out.exists()


def test_lapor_in_landscape_breaks_with_a_lettered_connector_on_both_pages():
    sop = load_file(str(LAPOR))
    (c,) = charts(sop, flow_id="pengaduan", orientation="landscape")
    assert len(c.pages) == 2
    first, second = c.pages
    out = {o.label for o in first.offpage if o.outgoing and o.other_page == 2}
    into = {o.label for o in second.offpage if not o.outgoing and o.other_page == 1}
    assert out and out == into
    for page in c.pages:
        assert {s.label.lines[0] for s in page.symbols if s.kind == "connector"} >= out
    root = parse(document_svg(sop, flow_id="pengaduan", orientation="landscape"))
    pentagons = [g for g in groups(root, "connector")]
    assert len(pentagons) == 2 * len(out) and all(g.find("s:polygon", NS) is not None for g in pentagons)
