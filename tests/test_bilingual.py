"""Display text in both languages: every name and status a definition shows may be plain Indonesian or
``{id: ..., en: ...}``, and every page renders it in the reader's language (Indonesian when the
definition has no English)."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import LAPOR, REPORT
from runner import services
from runner.cli import sop_to_json
from runner.definition import Text, check_text, display, joined, load_text
from runner.diagram import diagram
from runner.registry import Registry
from runner.services import demo
from runner.store import transaction
from sop_strategies import definitions, load, names
from test_definition import MINIMAL
from web_helpers import Visitor, advance, case_id_for_code, csrf_token, dispose, make_app, text_of

# -- the language ---------------------------------------------------------------------------------------
# (what, the line of MINIMAL the key goes after or replaces, its indentation, key, how to read it back)
KEYS = [
    ("title", "title: SOP Mini\n", "", "title", lambda s: s.title),
    ("identity.name", "  name: SOP Contoh\n", "  ", "name", lambda s: s.identity.name),
    ("role name", "    name: Staf\n", "    ", "name", lambda s: s.role("staf").name),
    ("role description", "    name: Staf\n", "    ", "description", lambda s: s.role("staf").description),
    ("flow name", "    name: Alur utama\n", "    ", "name", lambda s: s.flow("utama").name),
    ("end name", "        name: Selesai\n", "        ", "name", lambda s: s.end("selesai").name),
    ("end public_message", "        name: Selesai\n", "        ", "public_message", lambda s: s.end("selesai").public_message),
    ("end public_status", "        name: Selesai\n", "        ", "public_status", lambda s: s.end("selesai").public_status),
    ("activity name", "    name: Terima laporan\n", "    ", "name", lambda s: s.activity("terima").name),
    ("activity public_status", "    name: Terima laporan\n", "    ", "public_status",
     lambda s: s.activity("terima").public_status),
]
IDS = [k[0] for k in KEYS]


def with_key(anchor: str, indent: str, key: str, value: str) -> str:
    assert MINIMAL.count(anchor) == 1, anchor
    line = f"{indent}{key}: {value}\n"
    replaces = anchor.strip().startswith(f"{key}:")
    return MINIMAL.replace(anchor, line if replaces else anchor + line)


@pytest.mark.parametrize("what, anchor, indent, key, read", KEYS, ids=IDS)
def test_each_display_key_takes_plain_text(what, anchor, indent, key, read):
    sop, problems = check_text(with_key(anchor, indent, key, "Teks biasa"))
    assert sop is not None, [p.format() for p in problems]
    assert display(read(sop)) == display(read(sop), "en") == "Teks biasa"  # English falls back


@pytest.mark.parametrize("what, anchor, indent, key, read", KEYS, ids=IDS)
def test_each_display_key_takes_both_languages(what, anchor, indent, key, read):
    sop, problems = check_text(with_key(anchor, indent, key, "{id: Teks Indonesia, en: English text}"))
    assert sop is not None, [p.format() for p in problems]
    assert display(read(sop)) == display(read(sop), "id") == "Teks Indonesia"
    assert display(read(sop), "en") == "English text"


@pytest.mark.parametrize("what, anchor, indent, key, read", KEYS, ids=IDS)
def test_english_without_indonesian_is_refused_where_it_is(what, anchor, indent, key, read):
    text = with_key(anchor, indent, key, "{en: English text}")
    line = text.splitlines().index(f"{indent}{key}: {{en: English text}}") + 1
    sop, problems = check_text(text, "mini.yaml")
    assert sop is None
    assert [p.format() for p in problems] == [
        f"mini.yaml:{line}:{len(indent) + len(key) + 3}: error: {problems[0].message}"]
    assert problems[0].message.endswith(f"{key}: missing required field 'id'")


def test_an_unknown_language_key_is_refused():
    _, problems = check_text(with_key("title: SOP Mini\n", "", "title", "{id: SOP Mini, english: Mini SOP}"))
    assert [p.message for p in problems] == ["title: unknown field 'english'"]


def test_optional_texts_may_stay_empty_but_names_may_not():
    sop, _ = check_text(with_key("        name: Selesai\n", "        ", "public_message", "''"))
    assert sop is not None and not sop.end("selesai").public_message
    _, problems = check_text(with_key("    name: Alur utama\n", "    ", "name", "''"))
    assert problems and problems[0].message.startswith("flows[0].name: ")


def test_joined_text_keeps_every_language():
    text = joined("4. ", Text("Disposisi", (("en", "Disposition"),)), " ", "2026-11")
    assert (display(text), display(text, "en"), display(text, "fr")) == ("4. Disposisi 2026-11",) + (
        "4. Disposition 2026-11", "4. Disposisi 2026-11")
    assert not Text("") and Text("x")


def strip_english(text: str) -> str:
    """A LAPOR text as it was before names had English: every ``KEY:\\n  id: X\\n  en: Y`` block of a
    name, title, status, message or description back to ``KEY: X`` (labels keep theirs)."""
    plain = re.sub(r"(?m)^(\s*)(title|name|description|public_status|public_message):\n\s+id: (.+)\n\s+en: .+\n",
                   r"\1\2: \3\n", text)
    assert "\n      en: " not in plain and "\n    en: " not in plain
    return plain


def test_the_lapor_names_have_english_and_keep_their_indonesian():
    sop = load_text(LAPOR.read_text(encoding="utf-8"))
    plain = load_text(strip_english(LAPOR.read_text(encoding="utf-8")))
    named = [sop.title, sop.identity.name, *(r.name for r in sop.roles), *(f.name for f in sop.flows),
             *(e.name for f in sop.flows for e in f.ends), *(a.name for a in sop.activities),
             *(a.public_status for a in sop.activities if a.public_status),
             *(e.public_message for f in sop.flows for e in f.ends if e.public_message)]
    assert all(display(t, "en") != display(t) for t in named), [display(t) for t in named if display(t, "en") == display(t)]
    # the Indonesian is exactly what it was: only English was added
    assert [display(t) for t in named] == [display(t) for t in [
        plain.title, plain.identity.name, *(r.name for r in plain.roles), *(f.name for f in plain.flows),
        *(e.name for f in plain.flows for e in f.ends), *(a.name for a in plain.activities),
        *(a.public_status for a in plain.activities if a.public_status),
        *(e.public_message for f in plain.flows for e in f.ends if e.public_message)]]


def test_stored_versions_of_either_form_load_without_a_new_format():
    # Plain strings are still valid display text, so a version published before names had English
    # is read back as it was, in the same definition format.
    from runner.definition.stored import FORMAT, load_stored

    assert FORMAT == 1
    old = load_stored(strip_english(LAPOR.read_text(encoding="utf-8")), fmt=1)
    new = load_stored(LAPOR.read_text(encoding="utf-8"), fmt=1)
    assert display(old.activity("verifikasi_laporan").name, "en") == "Verifikasi laporan masyarakat oleh Admin Utama"
    assert display(new.activity("verifikasi_laporan").name, "en") == (
        "Verification of public reports by the Lead Administrator")
    assert [display(a.name) for a in old.activities] == [display(a.name) for a in new.activities]


# -- the web, in both languages ----------------------------------------------------------------------------
LAPOR_SOP = load_text(LAPOR.read_text(encoding="utf-8"))


def en(value) -> str:
    return display(value, "en")


def idn(value) -> str:
    return display(value, "id")


def page(visitor: Visitor, url: str) -> str:
    r = visitor.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return html_lib.unescape(r.get_data(as_text=True))


def to_english(visitor: Visitor) -> Visitor:
    r = visitor.submit("/lacak", control="next")  # the language button of every page
    assert r.status_code == 302
    assert 'lang="en"' in visitor.get("/lacak").get_data(as_text=True)
    return visitor


def file_report(visitor: Visitor) -> str:
    r = visitor.submit("/lapor/laporisp4n/pengaduan", REPORT, control="nonce")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    code = text_of(visitor.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
    assert code
    return code


def signed_in(app, username: str, english: bool) -> Visitor:
    v = Visitor(app)
    v.login(username)
    return to_english(v) if english else v


@pytest.fixture
def at_disposition(app, factory, registry, actor):
    """A public report waiting at activity 4 (the Kadis' disposition), and its tracking code."""
    citizen = Visitor(app)
    code = file_report(citizen)
    case_id = case_id_for_code(factory, code)
    advance(factory, registry, actor, case_id, 4)
    return case_id, code


def test_public_home_and_form_in_english(app):
    flow = LAPOR_SOP.flow("pengaduan")
    visitor = to_english(Visitor(app))
    home = page(visitor, "/")
    assert en(flow.name) in home and en(LAPOR_SOP.title) in home
    assert idn(flow.name) not in home and idn(LAPOR_SOP.title) not in home
    form = page(visitor, "/lapor/laporisp4n/pengaduan")
    assert f"<h1>{en(flow.name)}</h1>" in form and en(LAPOR_SOP.title) in form
    indonesian = page(Visitor(app), "/")
    assert idn(flow.name) in indonesian and en(flow.name) not in indonesian


@pytest.mark.parametrize("english", [True, False], ids=["en", "id"])
def test_inbox_case_page_and_history_in_the_readers_language(app, at_disposition, english):
    case_id, _ = at_disposition
    word = en if english else idn
    other = idn if english else en
    step, done = LAPOR_SOP.activity("disposisi_pimpinan"), LAPOR_SOP.activity("input_laporan")
    admin = LAPOR_SOP.role("admin_utama")

    kadis = signed_in(app, "kadis", english)
    inbox = page(kadis, "/kotak-masuk")
    assert word(step.name) in inbox and other(step.name) not in inbox
    assert word(LAPOR_SOP.title) in inbox
    assert f"{word(step.name)}" in page(kadis, "/kasus")

    case = page(kadis, f"/kasus/{case_id}")
    assert text_of(case, "case-step") == f"4. {word(step.name)}"
    assert f'<h2 data-testid="case-step">4. {word(step.name)}</h2>' in case  # the step card names the step
    assert word(LAPOR_SOP.flow("pengaduan").name) in case
    history = text_of(case, "history")
    assert f"1. {word(done.name)}" in history and f"({word(admin.name)})" in history
    assert f"→ {word(step.name)}" in history
    assert other(step.name) not in case and f"({other(admin.name)})" not in history

    # someone else's step: "this step is for" names the performers in the reader's language
    operator = signed_in(app, "admin_utama", english)
    assert text_of(page(operator, f"/kasus/{case_id}"), "not-your-turn").endswith(f"{word(LAPOR_SOP.role('kadis').name)}.")

    # the message after acting names the next step in the reader's language too
    r = kadis.act(case_id, "teruskan", {"opd_tujuan": "dinkes", "isi_disposisi": "Segera."}, follow_redirects=True)
    assert r.status_code == 200
    assert word(LAPOR_SOP.activity("terima_disposisi").name) in html_lib.unescape(r.get_data(as_text=True))


@pytest.mark.parametrize("english", [True, False], ids=["en", "id"])
def test_tracking_page_in_the_readers_language(app, at_disposition, english):
    _, code = at_disposition
    word = en if english else idn
    visitor = to_english(Visitor(app)) if english else Visitor(app)
    track = page(visitor, f"/lacak?kode={code}")
    status = LAPOR_SOP.activity("disposisi_pimpinan").public_status
    assert text_of(track, "status") == word(status)
    for earlier in ("input_laporan", "verifikasi_laporan", "sampaikan_ke_pimpinan"):
        shown = LAPOR_SOP.activity(earlier).public_status
        assert word(shown) in track
    assert (idn if english else en)(status) not in track
    assert word(LAPOR_SOP.activity("disposisi_pimpinan").name) not in track  # internal names stay internal


def test_an_end_and_its_message_in_english(app, factory, registry, actor):
    code = file_report(Visitor(app))
    case_id = case_id_for_code(factory, code)
    advance(factory, registry, actor, case_id, 2)
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor("admin_utama"), "tidak_valid",
                              {"alasan_tidak_valid": "Laporan ganda"}, expected_version=None)
    end = LAPOR_SOP.end("tidak_valid")
    track = page(to_english(Visitor(app)), f"/lacak?kode={code}")
    assert text_of(track, "status") == en(end.name)
    assert text_of(track, "public-message") == en(end.public_message)
    staff = page(signed_in(app, "admin_utama", True), f"/kasus/{case_id}")
    assert text_of(staff, "case-step") == en(end.name)


def test_the_monthly_recap_in_english(app, factory, registry, actor):
    now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)
    with transaction(factory) as s:
        [recap] = services.tick(s, registry, now=now)
        recap_id = recap.id
        # a report of that month, so the figures count one case at activity 1
        services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=actor("admin_utama"),
                            now=dt.datetime(2026, 11, 15, 3, 0, tzinfo=dt.timezone.utc))
    flow, first = LAPOR_SOP.flow("rekap_bulanan"), LAPOR_SOP.activity("input_laporan")
    admin = signed_in(app, "admin_utama", True)
    assert f"{en(flow.name)} 2026-11" in page(admin, "/kotak-masuk")
    case = page(admin, f"/kasus/{recap_id}")
    assert text_of(case, "case-title") == f"{en(flow.name)} 2026-11"
    assert f'<th scope="row">Still open at 1. {en(first.name)}</th><td>1</td>' in case  # the recap, in English
    assert "<caption>By Channel</caption>" in case
    indonesian = page(signed_in(app, "admin_utama", False), f"/kasus/{recap_id}")
    assert text_of(indonesian, "case-title") == f"{idn(flow.name)} 2026-11"
    assert f'<th scope="row">Masih terbuka di 1. {idn(first.name)}</th><td>1</td>' in indonesian
    assert "<caption>Per Kanal laporan</caption>" in indonesian


def test_refusal_and_new_case_pages_in_english(app, at_disposition):
    case_id, _ = at_disposition
    flow, kadis = LAPOR_SOP.flow("pengaduan"), LAPOR_SOP.role("kadis")
    admin = signed_in(app, "admin_utama", True)
    inbox = page(admin, "/kotak-masuk")
    assert f"New case: {en(flow.name)}" in inbox
    new_case = page(admin, "/kasus/baru/laporisp4n/pengaduan")
    assert f"<h1>New case: {en(flow.name)}</h1>" in new_case and en(LAPOR_SOP.title) in new_case
    html = admin.get(f"/kasus/{case_id}").get_data(as_text=True)
    r = admin.post(f"/kasus/{case_id}", {"csrf_token": csrf_token(html), "version": "4", "action": "teruskan",
                                         "step": "disposisi_pimpinan"})
    assert r.status_code == 403
    refused = text_of(r.get_data(as_text=True), "refused")
    assert refused.endswith(f"This step is for: {en(kadis.name)}.") and idn(kadis.name) + "." not in refused


def test_a_definition_without_english_shows_its_indonesian_in_english(db_url, factory, tmp_path):
    (tmp_path / "laporisp4n.yaml").write_text(strip_english(LAPOR.read_text(encoding="utf-8")), encoding="utf-8")
    plain = Registry.from_directory(tmp_path)
    with transaction(factory) as s:
        services.publish_all(s, plain)
        demo.seed(s, plain)
    app = make_app(db_url, SOP_DEFINITIONS=str(tmp_path))
    try:
        code = file_report(Visitor(app))
        case_id = case_id_for_code(factory, code)
        visitor = to_english(Visitor(app))
        home = page(visitor, "/")
        assert idn(LAPOR_SOP.flow("pengaduan").name) in home and "Public services" in home
        assert text_of(page(visitor, f"/lacak?kode={code}"), "status") == idn(LAPOR_SOP.activity("input_laporan").public_status)
        admin = signed_in(app, "admin_utama", True)
        assert text_of(page(admin, f"/kasus/{case_id}"), "case-step") == f"1. {idn(LAPOR_SOP.activity('input_laporan').name)}"
        assert idn(LAPOR_SOP.activity("input_laporan").name) in page(admin, "/kotak-masuk")
    finally:
        dispose(app)


# -- any definition, names in either form ------------------------------------------------------------------
def _spots(data: dict) -> list[tuple[dict, str]]:
    """Every (mapping, key) of generated data that holds a name or title (display text)."""
    spots = [(data, "title"), (data["identity"], "name")] + [(r, "name") for r in data["roles"]]
    for f in data["flows"]:
        spots += [(f, "name")] + [(e, "name") for e in f["ends"]]
    return spots + [(a, "name") for a in data["activities"]]


@st.composite
def bilingual_definitions(draw) -> tuple[dict, list[tuple[str, str | None]]]:
    """A valid definition whose names are each plain text or ``{id, en}``; with (id, en or None) of each."""
    data = draw(definitions())
    expected = []
    for where, key in _spots(data):
        english = draw(st.one_of(st.none(), names))
        if english is not None:
            where[key] = {"id": where[key], "en": english}
        expected.append((where[key]["id"] if english is not None else where[key], english))
    return data, expected


def _read_back(sop) -> list:
    texts = [sop.title, sop.identity.name, *(r.name for r in sop.roles)]
    for f in sop.flows:
        texts += [f.name, *(e.name for e in f.ends)]
    return texts + [a.name for a in sop.activities]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bilingual_definitions())
def test_names_in_either_form_load_and_render_in_each_language(drawn):
    data, expected = drawn
    sop = load(data)
    texts = _read_back(sop)
    assert [(display(t), display(t, "en")) for t in texts] == [(i, e if e is not None else i) for i, e in expected]
    # `sop show --json` prints the Indonesian strings (it would raise on a Text), diagrams no Text(...)
    assert "Text(" not in json.dumps(sop_to_json(sop), ensure_ascii=False)
    english = diagram(sop, locale="en")
    for a in sop.activities:
        assert f"{a.no}. " in english
    assert "Text(" not in english and "Text(" not in diagram(sop)
