"""SVG of the flowchart tables laid out by ``layout.py``.

Every shape carries its look as presentation attributes (``stroke``, ``fill``), so the drawing is
right in a browser, in WeasyPrint and in a file viewer without any stylesheet, and inside the app,
whose Content-Security-Policy refuses inline ``style``. What a case map highlights is only *classes*
(``current``, ``visited``, ``taken``), which the app's static CSS styles; the highlight also shows
without colour: a ``▶`` / ``✓`` in the No column and a thicker outline drawn here.

All text goes through :func:`esc`: XML-escaped and stripped of the characters XML 1.0 cannot hold,
so a name with ``<``, ``&``, quotes or control characters cannot change the document's structure.
Arrowheads are drawn as small triangles rather than SVG markers (WeasyPrint's marker support is
partial).
"""

from __future__ import annotations

from html import escape

from ..definition.model import Sop, display
from .layout import Arrow, Cell, Chart, Highlight, Orientation, Page, Symbol, TextBox, charts, clean
from .metrics import text_width

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
INK = "#1a1a1a"
LINE = 0.6
HEAD_FILL = "#eeeeee"


def esc(text: str) -> str:
    return escape(clean(text), quote=True)


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") or "0"


def _text(t: TextBox, cls: str = "") -> str:
    if not t.lines:
        return ""
    weight = ' font-weight="bold"' if t.bold else ""
    klass = f' class="{cls}"' if cls else ""
    spans = "".join(
        f'<tspan x="{_n(t.x)}" y="{_n(t.y + i * t.leading)}">{esc(line)}</tspan>' for i, line in enumerate(t.lines)
    )
    return (f'<text{klass} font-family="{FONT_FAMILY}" font-size="{_n(t.size)}"{weight} '
            f'text-anchor="{t.anchor}" fill="{INK}">{spans}</text>')


def _cell(c: Cell) -> str:
    r = c.rect
    fill = HEAD_FILL if c.head else "none"
    return (f'<rect x="{_n(r.x)}" y="{_n(r.y)}" width="{_n(r.w)}" height="{_n(r.h)}" fill="{fill}" '
            f'stroke="{INK}" stroke-width="{LINE}"/>' + (_text(c.text) if c.text else ""))


def _shape(s: Symbol) -> str:
    r = s.rect
    width = 2.4 if "current" in s.classes else 1.0
    common = f'fill="#ffffff" stroke="{INK}" stroke-width="{_n(width)}" class="shape"'
    if s.kind == "process":
        return f'<rect x="{_n(r.x)}" y="{_n(r.y)}" width="{_n(r.w)}" height="{_n(r.h)}" {common}/>'
    if s.kind == "terminator":
        return (f'<rect x="{_n(r.x)}" y="{_n(r.y)}" width="{_n(r.w)}" height="{_n(r.h)}" rx="{_n(r.h / 2)}" '
                f'ry="{_n(r.h / 2)}" {common}/>')
    if s.kind == "decision":
        pts = [(r.cx, r.y), (r.right, r.cy), (r.cx, r.bottom), (r.x, r.cy)]
    else:  # off-page connector: a pentagon pointing down
        pts = [(r.x, r.y), (r.right, r.y), (r.right, r.y + r.h * 0.6), (r.cx, r.bottom), (r.x, r.y + r.h * 0.6)]
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)
    return f'<polygon points="{points}" {common}/>'


def _symbol(s: Symbol) -> str:
    classes = " ".join(("symbol", s.kind) + s.classes)
    state = f' data-state="{esc(s.state)}"' if s.state else ""
    current = ' aria-current="step"' if "current" in s.classes else ""
    return (f'<g class="{classes}" data-node="{esc(s.node)}"{state}{current}><title>{esc(s.title)}</title>'
            f"{_shape(s)}{_text(s.label)}</g>")


def _head(a: Arrow) -> str:
    (x0, y0), (x1, y1) = a.points[-2], a.points[-1]
    dx, dy = (x1 - x0), (y1 - y0)
    length = max(abs(dx), abs(dy)) or 1.0
    ux, uy = dx / length, dy / length
    size = 3.6
    bx, by = x1 - ux * size, y1 - uy * size
    pts = [(x1, y1), (bx - uy * size * 0.55, by + ux * size * 0.55), (bx + uy * size * 0.55, by - ux * size * 0.55)]
    return f'<polygon class="head" points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in pts)}" fill="{INK}"/>'


def _arrow(a: Arrow) -> str:
    classes = " ".join(("arrow",) + a.classes)
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in a.points)
    out = [f'<g class="{classes}" data-from="{esc(a.source)}" data-to="{esc(a.target)}"><title>{esc(a.title)}</title>',
           f'<polyline class="line" points="{points}" fill="none" stroke="{INK}" stroke-width="0.9"/>', _head(a)]
    if a.label is not None:
        t = a.label
        w = max(text_width(line, t.size) for line in t.lines) + 2
        x = t.x - 1 if t.anchor == "start" else t.x - w + 1
        top = t.y - t.size * 0.95  # from the cap height of the first line to the descent of the last,
        h = (len(t.lines) - 1) * t.leading + t.size * 1.15  # so it never covers the line it labels
        out.append(f'<rect class="label-bg" x="{_n(x)}" y="{_n(top)}" width="{_n(w)}" height="{_n(h)}" '
                   f'fill="#ffffff" fill-opacity="0.85" stroke="none"/>')
        out.append(_text(t, "label"))
    out.append("</g>")
    return "".join(out)


def page_svg(page: Page, *, label: str = "", xmlns: bool = True, unit: str = "pt") -> str:
    """One page of a table as an ``<svg>`` element, sized in points at the page's scale."""
    ns = ' xmlns="http://www.w3.org/2000/svg"' if xmlns else ""
    w, h = (page.width + 1) * page.scale, (page.height + 1) * page.scale  # + the outer lines' width
    title = f"<title>{esc(label)}</title>" if label else ""
    aria = f' aria-label="{esc(label)}"' if label else ""
    rows = "".join(
        f'<rect class="row {" ".join(r.classes)}" data-node="{esc(r.node)}" x="{_n(r.rect.x)}" y="{_n(r.rect.y)}" '
        f'width="{_n(r.rect.w)}" height="{_n(r.rect.h)}" fill="none" stroke="none"/>'
        for r in page.rows if r.classes
    )
    body = "".join(_cell(c) for c in page.cells)
    return (f'<svg{ns} class="sop-flowchart" role="img"{aria} width="{_n(w)}{unit}" height="{_n(h)}{unit}" '
            f'viewBox="-0.5 -0.5 {_n(page.width + 1)} {_n(page.height + 1)}" data-page="{page.number}" data-pages="{page.count}">'
            f"{title}{''.join(_text(t) for t in page.title)}{rows}{body}"
            f"{''.join(_arrow(a) for a in page.arrows)}{''.join(_symbol(s) for s in page.symbols)}</svg>")


def page_label(sop: Sop, c: Chart, page: Page, locale: str | None) -> str:
    text = f"{display(sop.title, locale)} — {c.title}"
    return text + (f" ({page.number}/{page.count})" if page.count > 1 else "")


def flowchart_svgs(sop: Sop, *, flow_id: str | None = None, locale: str | None = None,
                   orientation: Orientation = "portrait", compact: bool = False,
                   highlight: Highlight | None = None, xmlns: bool = True) -> list[str]:
    """Every page of every flow's table (or ``flow_id``'s), each its own ``<svg>`` element."""
    return [page_svg(p, label=page_label(sop, c, p, locale), xmlns=xmlns)
            for c in charts(sop, flow_id=flow_id, locale=locale, orientation=orientation, compact=compact,
                            highlight=highlight)
            for p in c.pages]


def document_svg(sop: Sop, *, flow_id: str | None = None, locale: str | None = None,
                 orientation: Orientation = "portrait") -> str:
    """The flowchart tables as one SVG file: the pages one below the other, 12 pt apart."""
    pages = [(p, page_label(sop, c, p, locale))
             for c in charts(sop, flow_id=flow_id, locale=locale, orientation=orientation) for p in c.pages]
    gap = 12.0
    width = max((p.width + 1) * p.scale for p, _l in pages)
    height = sum((p.height + 1) * p.scale for p, _l in pages) + gap * (len(pages) - 1)
    parts, y = [], 0.0
    for p, label in pages:
        inner = page_svg(p, label=label, xmlns=False, unit="")
        parts.append(inner.replace("<svg ", f'<svg x="0" y="{_n(y)}" ', 1))
        y += (p.height + 1) * p.scale + gap
    title = esc(display(sop.title, locale))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}pt" height="{_n(height)}pt" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{title}"><title>{title}</title>'
            f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>'
            + "".join(parts) + "</svg>\n")
