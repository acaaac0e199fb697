"""The Bahasa Indonesia catalog is the UI's default language, so it must cover every UI string.

These tests extract messages from the current sources in memory (the same mapping as
web/babel.cfg and the keywords `make translations` uses), so a newly marked string without an
Indonesian translation fails the suite. They also check that the committed .mo is a compile of the
.po and that translations keep every %(name)s placeholder of their msgid.

To fix a failure: `make translations`, translate the new msgstr entries in
web/translations/id/LC_MESSAGES/messages.po, run `make translations` again (it compiles the .mo)
and commit both files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[1]
BABEL_CFG = REPO / "web" / "babel.cfg"
TRANSLATIONS = REPO / "web" / "translations"
PO = TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "id" / "LC_MESSAGES" / "messages.mo"

# As in `pybabel extract -k _ -k N_ -k gettext -k ngettext:1,2` (Makefile, target translations).
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}

# A printf-style placeholder with a name: %(name)s, %(num)d, %(x).2f ...
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]*(?:\d+)?(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _singular(msgid) -> str:
    return msgid[0] if isinstance(msgid, (tuple, list)) else msgid


def _strings(value) -> tuple[str, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="id")


def extracted_messages() -> dict[str, list[str]]:
    """msgid (singular) -> where it is used, from the sources as they are now."""
    with BABEL_CFG.open() as f:
        method_map, options_map = parse_mapping_cfg(f, filename=str(BABEL_CFG))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        found.setdefault(_singular(message), []).append(f"{filename}:{lineno}")
    return found


def test_catalog_header_is_indonesian_with_one_plural_form(catalog):
    assert str(catalog.locale) == "id"
    assert catalog.num_plurals == 1
    assert catalog.plural_expr.strip() == "0"


def test_every_ui_string_in_the_sources_has_an_indonesian_translation(catalog):
    found = extracted_messages()
    # Guard against a silently broken extractor (e.g. the jinja2 one missing) making this vacuous.
    assert len(found) > 50, f"only {len(found)} messages extracted; is the extraction set up?"
    assert any(where.startswith("web/templates/") or "/templates/" in where
               for places in found.values() for where in places), "no template strings extracted"

    problems = []
    for msgid, places in sorted(found.items()):
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"not in messages.po: {msgid!r} ({places[0]})")
        elif entry.fuzzy:
            problems.append(f"fuzzy (not used at run time): {msgid!r} ({places[0]})")
        elif not all(s.strip() for s in _strings(entry.string)):
            problems.append(f"no Indonesian translation: {msgid!r} ({places[0]})")
    assert not problems, (
        "UI strings without a Bahasa Indonesia translation; run `make translations`, translate "
        "them in web/translations/id/LC_MESSAGES/messages.po and run it again:\n  "
        + "\n  ".join(problems)
    )


def test_committed_mo_matches_the_po(catalog):
    assert MO.exists(), "messages.mo is missing; run `pybabel compile -d web/translations`"
    with MO.open("rb") as f:
        compiled = read_mo(f)

    # What the compiler keeps: non-fuzzy entries with a translation (pybabel compile drops the rest).
    def table(cat, *, skip_fuzzy):
        return {
            (tuple(m.id) if isinstance(m.id, (tuple, list)) else m.id): _strings(m.string)
            for m in cat
            if m.id and not (skip_fuzzy and m.fuzzy) and any(_strings(m.string))
        }

    expected = table(catalog, skip_fuzzy=True)
    actual = table(compiled, skip_fuzzy=False)
    stale = sorted(_singular(k) for k in expected.keys() ^ actual.keys())
    differ = sorted(_singular(k) for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    assert not stale and not differ, (
        "messages.mo is out of date with messages.po; run `pybabel compile -d web/translations`.\n"
        f"  present in only one of them: {stale}\n  different translation: {differ}"
    )


def test_translations_keep_every_placeholder(catalog):
    problems = []
    for m in catalog:
        if not m.id:
            continue
        wanted = {p for msgid in _strings(m.id) for p in PLACEHOLDER.findall(msgid)}
        specs = {p.group(0) for msgid in _strings(m.id) for p in PLACEHOLDER.finditer(msgid)}
        for string in _strings(m.string):
            if not string:
                continue  # an empty translation is reported by the completeness test
            got = set(PLACEHOLDER.findall(string))
            missing = wanted - got
            extra = got - wanted
            if missing:
                problems.append(f"{_singular(m.id)!r}: translation lacks %({', '.join(sorted(missing))})")
            if extra:
                problems.append(f"{_singular(m.id)!r}: translation has unknown %({', '.join(sorted(extra))})")
            for spec in specs:
                if spec not in string:
                    problems.append(f"{_singular(m.id)!r}: translation changes the format of {spec}")
            if wanted:
                # Flask-Babel does `translation % variables`; a stray % would raise at run time.
                try:
                    string % {name: 1 for name in wanted}
                except (ValueError, TypeError, KeyError) as exc:
                    problems.append(f"{_singular(m.id)!r}: translation does not format ({exc})")
    assert not problems, "\n".join(problems)
