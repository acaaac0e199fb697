"""Refused forms as a keyboard or screen-reader user meets them (server side, no script needed):
the first invalid field has ``autofocus`` (and only it), every invalid field ``aria-invalid``, each
field's ``aria-describedby`` names its help and its error by ids that exist on the page, and the
summary at the top links to each marked field. Also the skip link and the main landmark."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from test_web import PUBLIC_FORM, field_block, report_at  # noqa: F401 - report_at: a fixture, used by name


class _Controls(HTMLParser):
    """Every element's attributes, in page order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Controls()
    parser.feed(html)
    return parser.elements


def check_refused_form(html: str, expected_invalid: set[str]) -> None:
    els = elements(html)
    ids = {a["id"] for _, a in els if a.get("id")}
    controls = [(t, a) for t, a in els if t in ("input", "select", "textarea") and (a.get("id") or "").startswith("f_")]
    invalid = [a["id"] for _, a in controls if a.get("aria-invalid") == "true"]
    assert set(invalid) == {f"f_{f}" for f in expected_invalid}

    focused = [a["id"] for _, a in els if "autofocus" in a]
    assert focused == [invalid[0]], "exactly one autofocus, on the first invalid field in page order"

    for _, a in controls:
        described = (a.get("aria-describedby") or "").split()
        missing = [d for d in described if d not in ids]
        assert not missing, (a["id"], missing)
        if a.get("aria-invalid") == "true":
            assert f"err_{a['id'][2:]}" in described, a["id"]

    summary = html.split('data-testid="error-summary"', 1)[1].split("</div>", 1)[0]
    links = re.findall(r'<a href="#(f_[^"]+)">', summary)
    assert links == invalid, "the summary links to each marked field, in page order"
    assert 'role="alert"' in html.split('data-testid="error-summary"', 1)[0].rsplit("<div", 1)[1]


def test_a_refused_public_form_focuses_its_first_invalid_field_and_links_help_and_errors(citizen):
    empty = {"judul": "", "isi_laporan": "", "nama_pelapor": "", "kontak_pelapor": ""}
    r = citizen.submit(PUBLIC_FORM, empty, control="nonce")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    check_refused_form(html, {"judul", "isi_laporan", "nama_pelapor"})

    # a field with help text names it (and its error) in aria-describedby
    with_help = [a for t, a in elements(html) if t in ("input", "select", "textarea")
                 and f'id="help_{(a.get("id") or "")[2:]}"' in html]
    for a in with_help:
        assert f"help_{a['id'][2:]}" in (a.get("aria-describedby") or "").split()

    # a form shown for the first time has no autofocus and no invalid mark
    fresh = citizen.get(PUBLIC_FORM).get_data(as_text=True)
    assert "autofocus" not in fresh and 'aria-invalid' not in fresh and 'data-testid="error-summary"' not in fresh


def test_a_refused_step_form_marks_its_field_and_describes_it_with_what_it_is_required_for(staff, report_at):
    case_id = report_at(4)
    kadis = staff("kadis")
    r = kadis.act(case_id, "tidak_teruskan")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    check_refused_form(html, {"alasan_tidak_diteruskan"})
    block = field_block(html, "alasan_tidak_diteruskan")
    described = re.search(r'id="f_alasan_tidak_diteruskan"[^>]*aria-describedby="([^"]+)"', block).group(1).split()
    assert described[:1] == ["need_alasan_tidak_diteruskan"] and described[-1] == "err_alasan_tidak_diteruskan"


def test_every_page_starts_with_a_skip_link_to_the_main_landmark(citizen, staff):
    for visitor, url in ((citizen, "/"), (citizen, PUBLIC_FORM), (citizen, "/masuk"), (staff("kadis"), "/kotak-masuk")):
        html = visitor.get(url).get_data(as_text=True)
        body = html.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip" href="#main">'), url
        assert '<main id="main" tabindex="-1">' in html, url


def test_the_editor_lists_each_problem_with_the_lines_around_it_not_the_whole_text_again():
    from conftest import LAPOR
    from runner.definition import check_text
    from runner.services.drafts import DraftCheck

    source = LAPOR.read_text(encoding="utf-8").replace("time_limit: 30 menit", "time_limit: 30 menitan", 1)
    sop, problems = check_text(source)
    check = DraftCheck(source, sop, tuple(problems))
    at = sorted({min(p.line, len(source.splitlines())) for p in problems if p.line > 0})
    assert at
    shown = check.excerpt(context=2)
    numbers = [line.no for line in shown if line is not None]
    assert set(numbers) == {n for a in at for n in range(max(1, a - 2), a + 3)}
    assert numbers == sorted(numbers) and len(numbers) < len(source.splitlines()) // 10
    assert all(line.problems for line in shown if line is not None and line.no in at)
    # a gap (None) stands wherever lines are left out, never two in a row
    assert None in shown and all(not (a is None and b is None) for a, b in zip(shown, shown[1:]))
    assert DraftCheck("id: x\n", None, ()).excerpt() == []
