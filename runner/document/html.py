"""The official SOP document as HTML: the identity page, then the flowchart tables (inline SVG).

The same markup serves three readers: the standalone ``.html`` file (its stylesheet inlined: a file
opened from disk has nothing else), the app's page per stored version (inside the app's layout, the
stylesheet served as a file because the Content-Security-Policy refuses inline style), and
WeasyPrint for the PDF. None of them runs a script.

Every value from the definition is escaped here; display text goes through
``runner.definition.display`` so plain and bilingual names render alike.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from importlib import resources
from typing import Sequence

from ..definition.model import Official, Sop, Text, display
from .layout import Orientation, clean
from .svg import flowchart_svgs
from .words import word

__all__ = ["document_body", "document_html", "identity_html", "stylesheet"]


def _e(text: str | Text | None, locale: str | None = None) -> str:
    return escape(clean(display(text, locale)), quote=True)


def stylesheet(orientation: Orientation = "portrait") -> str:
    """The document's CSS, led by the ``@page`` rule for A4 in ``orientation``."""
    css = resources.files(__package__).joinpath("document.css").read_text(encoding="utf-8")
    return f"@page {{ size: A4 {orientation}; margin: 10mm; }}\n{css}"


def _date(value: dt.date | None, locale: str | None) -> str:
    if value is None:
        return word("none", locale)
    from babel.dates import format_date

    return format_date(value, "d MMMM y", locale="en" if locale and locale.startswith("en") else "id")


def _official(o: Official | None, locale: str | None) -> str:
    if o is None:
        return word("none", locale)
    nip = f'<div class="nip">{word("nip", locale)}. {_e(o.nip)}</div>' if o.nip else ""
    return (f'<div class="official"><div class="position">{_e(o.position)}</div>'
            f'<div class="name">{_e(o.name)}</div>{nip}</div>')


def _items(items: Sequence[str | Text], locale: str | None, ordered: bool = True) -> str:
    if not items:
        return word("none", locale)
    tag = "ol" if ordered else "ul"
    return f"<{tag}>" + "".join(f"<li>{_e(i, locale)}</li>" for i in items) + f"</{tag}>"


def identity_html(sop: Sop, locale: str | None = None) -> str:
    """The identity page: agency and SOP in the head table, then the six lists side by side."""
    i = sop.identity
    rows = [
        ("sop_number", _e(i.number)),
        ("created", _date(i.created, locale)),
        ("revised", _date(i.revised, locale)),
        ("effective", _date(i.effective, locale)),
        ("prepared_by", _official(i.prepared_by, locale)),
        ("checked_by", _official(i.checked_by, locale)),
        ("approved_by", _official(i.approved_by, locale)),
    ]
    head = [f'<tr class="sop-name"><td class="agency" rowspan="{len(rows) + 1}" data-field="agency">{_e(i.agency, locale)}'
            f'</td><th class="label">{word("sop_name", locale)}</th><td data-field="name">{_e(i.name, locale)}</td></tr>']
    head += [f'<tr><th class="label">{word(key, locale)}</th><td data-field="{key}">{value}</td></tr>'
             for key, value in rows]
    pairs = [("legal_basis", i.legal_basis, "qualifications", i.qualifications),
             ("related_sops", i.related_sops, "equipment", i.equipment),
             ("warnings", i.warnings, "recording", i.recording)]
    lists = []
    for k1, v1, k2, v2 in pairs:
        lists.append(f"<tr><th>{word(k1, locale)}</th><th>{word(k2, locale)}</th></tr>")
        lists.append(f'<tr><td data-field="{k1}">{_items(v1, locale)}</td><td data-field="{k2}">{_items(v2, locale)}</td></tr>')
    if i.remarks:
        lists.append(f'<tr><th colspan="2">{word("remarks", locale)}</th></tr>')
        lists.append(f'<tr><td colspan="2" data-field="remarks">{_items(i.remarks, locale, ordered=False)}</td></tr>')
    return (f'<section class="sop-page sop-identity" id="sop-identity" aria-label="{escape(word("identity", locale))}">'
            f'<table class="head"><colgroup><col class="c-agency"><col class="c-label"><col class="c-value"></colgroup>'
            f'{"".join(head)}</table>'
            f'<table class="lists"><colgroup><col class="c-half"><col class="c-half"></colgroup>'
            f'{"".join(lists)}</table></section>')


def document_body(sop: Sop, *, flow_id: str | None = None, locale: str | None = None,
                  orientation: Orientation = "portrait") -> str:
    """The document's content (no ``<html>``): the identity page, then one section per table page."""
    pages = flowchart_svgs(sop, flow_id=flow_id, locale=locale, orientation=orientation, xmlns=False)
    tables = "".join(f'<section class="sop-page sop-table" id="sop-table-{n}">{svg}</section>'
                     for n, svg in enumerate(pages, 1))
    return f'<div class="sop-document sop-{orientation}">{identity_html(sop, locale)}{tables}</div>'


def document_html(sop: Sop, *, flow_id: str | None = None, locale: str | None = None,
                  orientation: Orientation = "portrait") -> str:
    """A self-contained HTML file of the document: no external asset, no script, its CSS inlined."""
    lang = "en" if locale and locale.startswith("en") else "id"
    title = _e(sop.identity.name or sop.title, locale)
    return (f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f"<style>{stylesheet(orientation)}</style></head><body class=\"sop-standalone\">"
            f"{document_body(sop, flow_id=flow_id, locale=locale, orientation=orientation)}</body></html>\n")
