"""The flowchart table of a Permenpan-RB 35/2012 SOP as pure geometry: boxes, lines and text lines.

No SVG here: ``svg.py`` draws what this computes, and the tests check the geometry itself (symbols
never overlap, every row lands on exactly one page, each page break has its off-page connectors).

The table. One table per flow (a scheduled flow gets its own): No, Kegiatan, one column per performer
role of that flow in order of first appearance, Mutu Baku (Kelengkapan, Waktu, Output) and
Keterangan. ``compact=True`` (the case map) keeps only No, Kegiatan and the roles.

Rows. Every row holds exactly one symbol, which keeps routing simple and provably clear:

* a *start* row (terminator "Mulai") above the flow's first activity, in the start activity's column;
* one row per activity (official numbering order): a process rectangle, or a decision diamond when
  the activity has several distinct targets, in the column of its first performer;
* one row per end (terminator "Selesai" and the end's name in the Kegiatan column), placed right
  after the last activity leading to it, in a column chosen so the main path can run straight past.

Arrows are orthogonal. Each is routed by trying a short list of shapes (straight, L, Z, and detours
through *lanes*: vertical channels in the margins of the role columns, which no symbol occupies
because every symbol is narrower than its column minus both margins) and keeping the cheapest one
that crosses no symbol and runs along no other arrow. A return for revision (an action to an
earlier activity) leaves its symbol sideways and climbs a lane back up into the target's side.

Pages. Rows are packed greedily onto A4 (portrait by default). Where an arrow's two ends fall on
different pages it is split at an off-page connector (a pentagon) on each page, both carrying the
same letter: in a strip at the foot of the page it leaves and at the head of the page it reaches
(for an arrow going back up, the other way round). A table wider than the page is drawn at a smaller
scale (``Page.scale``) rather than cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Literal, Sequence

from ..definition.model import Activity, End, Flow, Sop, display
from .metrics import text_width
from .words import word

Kind = Literal["terminator", "process", "decision", "connector"]
Orientation = Literal["portrait", "landscape"]
Point = tuple[float, float]

MM = 72 / 25.4  # points per millimetre
A4 = (210 * MM, 297 * MM)  # 595.3 x 841.9 pt
MARGIN = 10 * MM
START = "__start__"  # the node key of a flow's start terminator (definition ids begin with a letter)

FONT = 7.0  # body text, pt
HEAD_FONT = 7.0
SMALL = 5.5  # branch labels
TITLE_FONT = 9.0
LEADING = 1.25
PAD = 3.0  # inside a cell
SYMBOL_GAP = 10.0  # at least this much above and below a row's symbol
LANE_STEP = 2.5
CLEARANCE = 1.5  # how close a line may pass a symbol it does not touch


# -- geometry ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Rect, pad: float = 0.0) -> bool:
        return (self.x - pad < other.right and other.x - pad < self.right
                and self.y - pad < other.bottom and other.y - pad < self.bottom)


@dataclass(frozen=True)
class TextBox:
    """Lines of text: ``x`` is the left edge (``anchor="start"``), centre or right edge; ``y`` the
    first line's baseline."""

    x: float
    y: float
    lines: tuple[str, ...]
    size: float = FONT
    bold: bool = False
    anchor: Literal["start", "middle", "end"] = "start"

    @property
    def leading(self) -> float:
        return self.size * LEADING


@dataclass(frozen=True)
class Cell:
    rect: Rect
    text: TextBox | None = None
    head: bool = False
    role: str = ""  # "no", "name", ... or "role" for the columns the symbols stand in


@dataclass(frozen=True)
class Symbol:
    kind: Kind
    rect: Rect
    node: str  # START, an activity id, an end id, or "offpage:<label>"
    label: TextBox
    title: str  # a sentence for <title> (what a screen reader says)
    state: str | None = None  # the activity or end id this symbol stands for (for highlighting)
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arrow:
    points: tuple[Point, ...]
    source: str
    target: str
    title: str
    label: TextBox | None = None
    returns: bool = False  # back up to an earlier activity: a return for revision
    edge: tuple[str | None, str] | None = None  # (from state, to state); None = the start
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowBox:
    node: str
    rect: Rect
    state: str | None
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class OffPage:
    label: str
    outgoing: bool  # the arrow leaves this page here (else it arrives)
    other_page: int


@dataclass(frozen=True)
class Page:
    number: int
    count: int
    width: float
    height: float
    scale: float  # drawn size = layout size x scale
    title: tuple[TextBox, ...]
    cells: tuple[Cell, ...]
    symbols: tuple[Symbol, ...]
    arrows: tuple[Arrow, ...]
    rows: tuple[RowBox, ...]
    offpage: tuple[OffPage, ...]

    @property
    def nodes(self) -> tuple[str, ...]:
        """The table rows on this page (start, activities, ends), top to bottom."""
        return tuple(r.node for r in self.rows)


@dataclass(frozen=True)
class Chart:
    flow: Flow
    pages: tuple[Page, ...]
    compact: bool
    title: str


@dataclass(frozen=True)
class Highlight:
    """A case's path on the map: the states it has been in, the moves it made, where it is now.
    A move from ``None`` is the opening of the case."""

    current: str | None = None
    visited: frozenset[str] = frozenset()
    taken: frozenset[tuple[str | None, str]] = frozenset()


# -- text ----------------------------------------------------------------------------------------------
_XML_BAD = {c for c in range(0x20) if c not in (0x9, 0xA, 0xD)} | {0xFFFE, 0xFFFF}


def clean(text: str) -> str:
    """Text an XML document may hold (XML 1.0 allows no control characters, even escaped)."""
    return "".join(ch for ch in text if ord(ch) not in _XML_BAD and not 0xD800 <= ord(ch) <= 0xDFFF)


def wrap(text: str, width: float, size: float = FONT, bold: bool = False) -> list[str]:
    """``text`` broken into lines no wider than ``width``: at spaces, newlines kept as breaks, and a
    word longer than a line cut where it must be."""
    lines: list[str] = []
    for paragraph in clean(text).replace("\r", "\n").split("\n"):
        line = ""
        for word_ in paragraph.split():
            trial = f"{line} {word_}" if line else word_
            if text_width(trial, size, bold) <= width:
                line = trial
                continue
            if line:
                lines.append(line)
            while text_width(word_, size, bold) > width and len(word_) > 1:
                cut = len(word_) - 1
                while cut > 1 and text_width(word_[:cut] + "-", size, bold) > width:
                    cut -= 1
                hyphen = "-" if word_[cut - 1].isalnum() and word_[cut].isalnum() else ""
                lines.append(word_[:cut] + hyphen)
                word_ = word_[cut:]
            line = word_
        if line:
            lines.append(line)
    return lines


def _clip(lines: list[str], max_lines: int) -> list[str]:
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max(max_lines, 1)]
    kept[-1] = kept[-1][:-1] + "…" if len(kept[-1]) > 1 else "…"
    return kept


# -- columns -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Column:
    key: str  # "no", "name", "role:<id>", "requirements", "time", "output", "note"
    x: float
    w: float

    @property
    def right(self) -> float:
        return self.x + self.w


_TEXT_COLUMNS = (("name", 0.33, 80.0), ("requirements", 0.2, 46.0), ("time", 0.11, 32.0),
                 ("output", 0.2, 46.0), ("note", 0.16, 36.0))
_NO_W = 20.0
_ROLE_MIN, _ROLE_WANT, _ROLE_MAX = 38.0, 50.0, 72.0


def _columns(n_roles: int, width: float, compact: bool) -> tuple[list[_Column], float]:
    """Column widths, and the width the table needs (more than ``width`` when it must be scaled)."""
    if compact:
        role_w = 56.0
        name_w = max(150.0, width - _NO_W - n_roles * role_w)
        widths = [("no", _NO_W), ("name", name_w)] + [(f"role:{i}", role_w) for i in range(n_roles)]
    else:
        minimum = sum(m for _k, _f, m in _TEXT_COLUMNS)
        role_w = min(_ROLE_MAX, max(_ROLE_MIN, (width - _NO_W - minimum * 1.5) / max(n_roles, 1)))
        role_w = max(role_w, min(_ROLE_WANT, (width - _NO_W - minimum) / max(n_roles, 1)))
        rest = max(minimum, width - _NO_W - n_roles * role_w)
        texts = [(k, max(m, rest * f)) for k, f, m in _TEXT_COLUMNS]
        widths = [("no", _NO_W), texts[0]] + [(f"role:{i}", role_w) for i in range(n_roles)] + texts[1:]
        short = width - sum(w for _k, w in widths)
        if short > 0:  # what the minimums left over goes to Kegiatan, so the table fills the page
            widths[1] = ("name", widths[1][1] + short)
    cols, x = [], 0.0
    for key, w in widths:
        cols.append(_Column(key, x, w))
        x += w
    return cols, x


def _symbol_size(kind: Kind, col_w: float) -> tuple[float, float]:
    usable = col_w - 2 * _margin(col_w)
    if kind == "decision":
        return min(usable, 46.0), 30.0
    if kind == "process":
        return min(usable, 44.0), 22.0
    if kind == "terminator":
        return min(usable, 44.0), 16.0
    return min(usable, 16.0), 16.0


def _margin(col_w: float) -> float:
    """The room each side of a symbol in its column: the lanes arrows detour through."""
    return max(6.0, min(10.0, col_w * 0.18))


# -- rows (before pagination) --------------------------------------------------------------------------
@dataclass
class _Row:
    node: str
    kind: Kind
    col: int  # index among the role columns
    state: str | None
    texts: dict[str, str] = field(default_factory=dict)  # column key -> text
    lines: dict[str, list[str]] = field(default_factory=dict)
    height: float = 0.0
    activity: Activity | None = None
    end: End | None = None


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    labels: tuple[str, ...]
    returns: bool
    edge: tuple[str | None, str]
    title: str
    decision: bool
    drawn: bool = True  # False: only the off-page connector pair of a break nothing crosses


def flow_roles(sop: Sop, flow: Flow) -> list[str]:
    """The performer role ids of a flow's activities, in order of first appearance."""
    roles: list[str] = []
    for a in _activities(sop, flow):
        for r in a.performers:
            if r not in roles:
                roles.append(r)
    return roles or [r.id for r in sop.roles[:1]]


def _activities(sop: Sop, flow: Flow) -> list[Activity]:
    return sorted((a for a in sop.activities if a.flow == flow.id), key=lambda a: a.no)


def _targets(a: Activity, locale: str | None) -> list[tuple[str, list[str]]]:
    """Distinct targets of an activity's actions, in order, each with the labels of its actions."""
    found: dict[str, list[str]] = {}
    for x in a.actions:
        found.setdefault(x.to, []).append(display(x.label, locale))
    return list(found.items())


def _rows(sop: Sop, flow: Flow, roles: list[str], locale: str | None, compact: bool) -> tuple[list[_Row], list[_Edge]]:
    acts = _activities(sop, flow)
    col_of = {a.id: roles.index(a.performers[0]) if a.performers and a.performers[0] in roles else 0 for a in acts}
    start_col = col_of.get(flow.start, 0)
    rows: list[_Row] = [_Row(START, "terminator", start_col, None)]
    sources: dict[str, list[Activity]] = {e.id: [] for e in flow.ends}
    for a in acts:
        for to, _labels in _targets(a, locale):
            if to in sources:
                sources[to].append(a)
    after: dict[str, list[End]] = {}
    orphans: list[End] = []
    for e in flow.ends:
        if sources[e.id]:
            after.setdefault(max(sources[e.id], key=lambda a: a.no).id, []).append(e)
        else:
            orphans.append(e)
    n_roles = len(roles)
    for i, a in enumerate(acts):
        targets = _targets(a, locale)
        texts = {"no": str(a.no), "name": display(a.name, locale)}
        if not compact:
            limit = a.time_limit.text if a.time_limit else ""
            if a.time_limit and a.time_limit.advisory and not a.note:
                limit += f" ({word('advisory', locale)})"
            texts |= {"requirements": "\n".join(f"• {r}" for r in (display(r, locale) for r in a.requirements)),
                      "time": limit, "output": display(a.output, locale), "note": display(a.note, locale)}
        rows.append(_Row(a.id, "decision" if len(a.actions) > 1 else "process", col_of[a.id], a.id, texts, activity=a))
        ends = after.get(a.id, [])
        followed = i + 1 < len(acts)
        next_col = col_of[acts[i + 1].id] if followed else None
        taken: list[int] = []
        for k, e in enumerate(ends):
            trailing = not followed and k == 0
            col = col_of[a.id] if trailing or n_roles == 1 else _side_column(col_of[a.id], next_col, n_roles, taken)
            taken.append(col)
            rows.append(_Row(e.id, "terminator", col, e.id, {"name": display(e.name, locale)}, end=e))
    for e in orphans:
        rows.append(_Row(e.id, "terminator", 0, e.id, {"name": display(e.name, locale)}, end=e))

    order = {r.node: k for k, r in enumerate(rows)}
    edges = [_Edge(START, flow.start, (), False, (None, flow.start),
                   f"{word('start', locale)} → {_node_name(sop, flow.start, locale)}", False)]
    for a in acts:
        targets = _targets(a, locale)
        for to, labels in targets:
            if to not in order:
                continue  # a stored version written against another flow: nothing to draw to
            back = order[to] < order[a.id] and sop.activity(to) is not None
            edges.append(_Edge(a.id, to, tuple(labels), back, (a.id, to),
                               f"{a.no}. → {_node_name(sop, to, locale)}: {' / '.join(labels)}", len(a.actions) > 1))
    return rows, edges


def _side_column(col: int, avoid: int | None, n: int, taken: list[int]) -> int:
    """A column beside ``col`` for an end terminator, not the next activity's (the main path runs
    there) and not one another end of the same activity took."""
    for d in range(1, n):
        for c in (col + d, col - d):
            if 0 <= c < n and c != avoid and c not in taken:
                return c
    for d in range(1, n):
        for c in (col + d, col - d):
            if 0 <= c < n and c not in taken:
                return c
    return col


def _node_name(sop: Sop, node: str, locale: str | None) -> str:
    a = sop.activity(node)
    if a is not None:
        return f"{a.no}. {display(a.name, locale)}"
    e = sop.end(node)
    return f"{word('end', locale)}: {display(e.name, locale)}" if e is not None else node


def _measure(rows: list[_Row], cols: list[_Column], role_cols: list[_Column], max_h: float) -> None:
    for r in rows:
        need = 0.0
        for c in cols:
            text = r.texts.get(c.key, "")
            if not text:
                continue
            lines = wrap(text, c.w - 2 * PAD)
            r.lines[c.key] = lines
            need = max(need, len(lines) * FONT * LEADING + 2 * PAD + 2)
        _w, sym_h = _symbol_size(r.kind, role_cols[r.col].w)
        r.height = max(need, sym_h + 2 * SYMBOL_GAP)
        if r.height > max_h:  # a row taller than a page: its text is cut, never the page
            max_lines = int((max_h - 2 * PAD - 2) / (FONT * LEADING))
            r.lines = {k: _clip(v, max_lines) for k, v in r.lines.items()}
            r.height = max_h


# -- the whole chart -------------------------------------------------------------------------------------
def page_size(orientation: Orientation = "portrait") -> tuple[float, float]:
    return A4 if orientation == "portrait" else (A4[1], A4[0])


_CACHE: dict[tuple[object, ...], Chart] = {}
_CACHE_SIZE = 64


def chart(sop: Sop, flow: Flow, *, locale: str | None = None, orientation: Orientation = "portrait",
          compact: bool = False, highlight: Highlight | None = None, page_height: float | None = None) -> Chart:
    """Lay out ``flow``'s table. ``page_height`` (pt, of the drawable area) overrides A4's, for tests
    of pagination; ``compact`` lays out one page of any height (the case map).

    The layout of a stored version never changes, so it is computed once per version, flow and
    options (every case page shows a map); a case's ``highlight`` is laid over a copy."""
    key = (sop.id, sop.version, flow.id, locale, orientation, compact, page_height)
    base = _CACHE.get(key) if sop.version else None
    if base is None:
        base = _chart(sop, flow, locale, orientation, compact, page_height)
        if sop.version:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = base
    if highlight is None:
        return base
    return replace(base, pages=tuple(_highlighted(p, highlight, locale) for p in base.pages))


def _highlighted(page: Page, hl: Highlight, locale: str | None) -> Page:
    """``page`` with a case's path marked: classes for the app's CSS, and ▶ / ✓ before the number in
    the No column and a sentence in each symbol's title, so nothing depends on colour."""
    row_cls = {r.node: _state_classes(START if r.node == START else r.state, hl, r.node == START) for r in page.rows}
    by_y = {round(r.rect.y, 3): row_cls[r.node] for r in page.rows}
    cells = []
    for c in page.cells:
        cls = by_y.get(round(c.rect.y, 3), ()) if c.role == "no" and not c.head else ()
        if "current" in cls or "visited" in cls:
            mark = "▶" if "current" in cls else "✓"
            lines = c.text.lines if c.text else ()
            first = f"{mark} {lines[0]}" if lines else mark
            text = (replace(c.text, lines=(first,) + lines[1:]) if c.text
                    else TextBox(c.rect.cx, c.rect.y + PAD + FONT, (mark,), FONT, False, "middle"))
            c = replace(c, text=text)
        cells.append(c)
    symbols = []
    for sym in page.symbols:
        cls = row_cls.get(sym.node, ())
        title = sym.title
        if "current" in cls:
            title += f" — {word('current', locale)}"
        elif "visited" in cls:
            title += f" — {word('visited', locale)}"
        symbols.append(replace(sym, classes=cls, title=title))
    arrows = [replace(a, classes=(("taken",) if a.edge in hl.taken else ()) + tuple(c for c in a.classes if c != "taken"))
              for a in page.arrows]
    rows = tuple(replace(r, classes=row_cls[r.node]) for r in page.rows)
    return replace(page, cells=tuple(cells), symbols=tuple(symbols), arrows=tuple(arrows), rows=rows)


def _chart(sop: Sop, flow: Flow, locale: str | None, orientation: Orientation, compact: bool,
           page_height: float | None) -> Chart:
    highlight = None
    roles = flow_roles(sop, flow)
    paper_w, paper_h = page_size(orientation)
    content_w = 560.0 if compact else paper_w - 2 * MARGIN - 1.5  # 1.5: room for the outer lines
    cols, table_w = _columns(len(roles), content_w, compact)
    scale = min(1.0, content_w / table_w)
    width = max(table_w, content_w)
    body_h = (page_height or paper_h - 2 * MARGIN) / scale
    role_cols = [c for c in cols if c.key.startswith("role:")]
    rows, edges = _rows(sop, flow, roles, locale, compact)

    flow_name = display(flow.name, locale)
    heading = f"{word('flowchart', locale)}: {flow_name}"
    if flow.schedule:
        heading += f" ({word('scheduled', locale, schedule=flow.schedule)})"
    title_lines = wrap(display(sop.title, locale), width, TITLE_FONT, True) + wrap(heading, width, FONT)
    title_h = len(title_lines) * TITLE_FONT * LEADING + 4 + (0 if compact else FONT * LEADING)  # + "Halaman n dari m"
    heads = _header_texts(sop, roles, cols, locale, compact)
    head_h = _header_height(heads, cols, compact)
    strip_h = 26.0
    room = body_h - title_h - head_h - 2 * strip_h
    if room < 60:
        room = 60.0
    _measure(rows, cols, role_cols, room)

    base = list(edges)
    reserve = strip_h
    for _attempt in range(8):  # more connectors at a break than fit in one strip line: reserve more
        if compact:
            groups = [list(range(len(rows)))]
        else:
            groups = _paginate([r.height for r in rows], body_h - title_h - head_h, reserve)
        page_of = {rows[i].node: p for p, g in enumerate(groups) for i in g}
        edges = list(base)
        for p in range(len(groups) - 1):  # a break no arrow crosses (below it only ends nothing reaches)
            if not any(min(page_of[e.source], page_of[e.target]) <= p < max(page_of[e.source], page_of[e.target])
                       for e in edges):
                a, b = rows[groups[p][-1]].node, rows[groups[p + 1][0]].node
                edges.append(_Edge(a, b, (), False, (a, b), "", False, drawn=False))
        crossing = _crossings(edges, page_of)
        needed = max((_strip_lines(crossing, edges, page_of, p, len(role_cols), top) * strip_h
                      for p in range(len(groups)) for top in (True, False)), default=0.0)
        if needed <= reserve:
            break
        reserve = needed
    pages = []
    for p, group in enumerate(groups):
        pages.append(_page(p, len(groups), group, rows, edges, crossing, page_of, cols, role_cols, width, scale,
                           title_lines, heads, head_h, strip_h, locale, highlight, compact))
    tallest = max(pg.height for pg in pages)
    if not compact and tallest * scale > body_h * scale + 0.5:
        # Only when a page cannot hold even one row beside its connector strips (many arrows
        # crossing one break of a very short page): the whole table is drawn smaller, never cut.
        fit = body_h * scale / tallest
        pages = [replace(pg, scale=fit) for pg in pages]
    return Chart(flow, tuple(pages), compact, heading)


def _strip_lines(crossing: dict[int, str], edges: list[_Edge], page_of: dict[str, int], p: int,
                 n_roles: int, top: bool) -> int:
    """How many lines of connectors the strip at the top (or foot) of page ``p`` needs."""
    k = 0
    for i in crossing:
        a, b = page_of[edges[i].source], page_of[edges[i].target]
        if p in (a, b) and (min(a, b) < p if top else max(a, b) > p):
            k += 1
    return math.ceil(k / max(n_roles, 1))


def _paginate(heights: Sequence[float], room: float, strip: float) -> list[list[int]]:
    """Rows packed greedily: a page takes rows while they fit, keeping room for the connector strips
    (one at the top of every page but the first, one at the foot of every page but the last)."""
    groups: list[list[int]] = []
    i = 0
    while i < len(heights):
        top = strip if groups else 0.0
        used, group = top, list[int]()
        while i < len(heights):
            rest = sum(heights[i:])
            if used + rest <= room:  # everything left fits: this is the last page, no foot strip
                group.extend(range(i, len(heights)))
                i = len(heights)
                break
            if group and used + heights[i] + strip > room:
                break
            group.append(i)
            used += heights[i]
            i += 1
        groups.append(group)
    return groups


def _crossings(edges: list[_Edge], page_of: dict[str, int]) -> dict[int, str]:
    """Edge index -> off-page connector letter, for the edges whose two ends are on different pages."""
    found: dict[int, str] = {}
    for k, e in enumerate(edges):
        if page_of[e.source] != page_of[e.target]:
            found[k] = _letter(len(found))
    return found


def _letter(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _header_texts(sop: Sop, roles: list[str], cols: list[_Column], locale: str | None,
                  compact: bool) -> dict[str, list[str]]:
    heads: dict[str, list[str]] = {}
    names = {"no": word("no", locale), "name": word("activity", locale), "requirements": word("requirements", locale),
             "time": word("time", locale), "output": word("output", locale), "note": word("note", locale)}
    for c in cols:
        if c.key.startswith("role:"):
            role = sop.role(roles[int(c.key[5:])])
            text = display(role.name, locale) if role else roles[int(c.key[5:])]
        else:
            text = names[c.key]
        heads[c.key] = wrap(text, c.w - 2 * PAD, head_size(text, c.w), True) or [""]
    return heads


def head_size(text: str, width: float) -> float:
    """A heading's font size: smaller (down to 5 pt) rather than a word cut in two."""
    longest = max((text_width(w, 1.0, True) for w in clean(text).split()), default=0.0)
    return max(5.0, min(HEAD_FONT, 0.97 * (width - 2 * PAD) / longest)) if longest else HEAD_FONT


def _header_height(heads: dict[str, list[str]], cols: list[_Column], compact: bool) -> float:
    line = HEAD_FONT * LEADING
    lower = max(len(heads[c.key]) for c in cols if c.key.startswith("role:") or c.key in ("requirements", "time", "output"))
    return line + 2 * PAD + lower * line + 2 * PAD


# -- one page ---------------------------------------------------------------------------------------------
def _page(p: int, count: int, group: list[int], rows: list[_Row], edges: list[_Edge], crossing: dict[int, str],
          page_of: dict[str, int], cols: list[_Column], role_cols: list[_Column], width: float, scale: float,
          title_lines: list[str], heads: dict[str, list[str]], head_h: float, strip_h: float,
          locale: str | None, highlight: Highlight | None, compact: bool) -> Page:
    hl = highlight or Highlight()
    title: list[TextBox] = []
    y = TITLE_FONT
    title.append(TextBox(0, y, tuple(title_lines[:1]), TITLE_FONT, True))
    rest = title_lines[1:]
    if not compact:
        rest = rest + [word("page", locale, n=p + 1, count=count)]
    if rest:
        title.append(TextBox(0, y + TITLE_FONT * LEADING, tuple(rest), FONT))
    top = len(title_lines) * TITLE_FONT * LEADING + 4 + (0 if compact else FONT * LEADING)
    cells = _header_cells(cols, heads, top, head_h, locale, compact)
    y = top + head_h
    symbols: list[Symbol] = []
    row_boxes: list[RowBox] = []
    row_rect: dict[str, Rect] = {}
    sym_of: dict[str, Symbol] = {}

    in_here = [k for k in crossing if page_of[edges[k].target] == p]
    out_here = [k for k in crossing if page_of[edges[k].source] == p]
    top_strip = [k for k in in_here if page_of[edges[k].source] < p] + [k for k in out_here if page_of[edges[k].target] < p]
    foot_strip = [k for k in out_here if page_of[edges[k].target] > p] + [k for k in in_here if page_of[edges[k].source] > p]
    offpage: list[OffPage] = []

    def strip(ks: list[int], at_top: bool) -> None:
        nonlocal y
        if not ks:
            return
        per_row = max(1, len(role_cols))
        lines = math.ceil(len(ks) / per_row)
        h = strip_h * lines
        pages = sorted({page_of[edges[k].source] if page_of[edges[k].target] == p else page_of[edges[k].target] for k in ks})
        text = word("continued_from" if at_top else "continues_on", locale,
                    page=", ".join(str(q + 1) for q in pages))
        _text_cells(cells, cols, Rect(0, y, width, h), {"name": wrap(text, cols[1].w - 2 * PAD)}, skip_roles=False)
        used: dict[int, int] = {}
        for n, k in enumerate(ks):
            e = edges[k]
            here_is_source = page_of[e.source] == p
            toward = e.source if not here_is_source else e.target
            want = rows[_index(rows, toward)].col
            col = _free(want, used, len(role_cols), lines)
            used[col] = used.get(col, 0) + 1
            line_no = used[col] - 1
            rc = role_cols[col]
            sw, sh = _symbol_size("connector", rc.w)
            rect = Rect(rc.x + (rc.w - sw) / 2, y + line_no * strip_h + (strip_h - sh) / 2, sw, sh)
            label = crossing[k]
            other = page_of[e.target] if here_is_source else page_of[e.source]
            node = f"offpage:{label}"
            sym = Symbol("connector", rect, node, TextBox(rect.cx, rect.y + sh * 0.55, (label,), FONT, True, "middle"),
                         f"{word('connector', locale, label=label)}, "
                         f"{word('to_page' if here_is_source else 'from_page', locale, page=other + 1)}")
            symbols.append(sym)
            sym_of[node] = sym
            row_rect[node] = Rect(0, y + line_no * strip_h, width, strip_h)
            offpage.append(OffPage(label, here_is_source, other + 1))
        y += h

    strip(top_strip, True)
    for i in group:
        r = rows[i]
        rect = Rect(0, y, width, r.height)
        row_rect[r.node] = rect
        classes = _state_classes(r.state if r.node != START else START, hl, r.node == START)
        row_boxes.append(RowBox(r.node, rect, r.state, classes))
        no_text = list(r.lines.get("no", []))
        if "current" in classes:
            no_text = [f"▶ {no_text[0]}" if no_text else "▶"] + no_text[1:]
        elif "visited" in classes:
            no_text = [f"✓ {no_text[0]}" if no_text else "✓"] + no_text[1:]
        _text_cells(cells, cols, rect, {**r.lines, "no": no_text}, skip_roles=True)
        rc = role_cols[r.col]
        sw, sh = _symbol_size(r.kind, rc.w)
        srect = Rect(rc.x + (rc.w - sw) / 2, y + (r.height - sh) / 2, sw, sh)
        sym = _row_symbol(r, srect, locale, classes)
        symbols.append(sym)
        sym_of[r.node] = sym
        y += r.height
    strip(foot_strip, False)
    for rc in role_cols:  # the role columns are one cell each, full height: the symbols stand in them
        cells.append(Cell(Rect(rc.x, top + head_h, rc.w, y - top - head_h), None, False, "role"))

    arrows = _route_page(p, edges, crossing, page_of, sym_of, row_rect, role_cols, locale, hl)
    return Page(p + 1, count, width, y, scale, tuple(title), tuple(cells), tuple(symbols), tuple(arrows),
                tuple(row_boxes), tuple(offpage))


def _index(rows: list[_Row], node: str) -> int:
    return next(i for i, r in enumerate(rows) if r.node == node)


def _free(want: int, used: dict[int, int], n: int, lines: int) -> int:
    for d in range(n):
        for c in (want + d, want - d):
            if 0 <= c < n and used.get(c, 0) < lines:
                return c
    return want


def _state_classes(state: str | None, hl: Highlight, start: bool) -> tuple[str, ...]:
    if start:
        return ("visited",) if any(f is None for f, _t in hl.taken) else ()
    if state is None:
        return ()
    if state == hl.current:
        return ("current",)
    if state in hl.visited:
        return ("visited",)
    return ()


def _row_symbol(r: _Row, rect: Rect, locale: str | None, classes: tuple[str, ...]) -> Symbol:
    if r.node == START:
        text, title = word("start", locale), word("start", locale)
    elif r.end is not None:
        text, title = word("end", locale), f"{word('end', locale)}: {display(r.end.name, locale)}"
    else:
        assert r.activity is not None
        text = str(r.activity.no)
        title = f"{r.activity.no}. {display(r.activity.name, locale)}"
    if "current" in classes:
        title += f" — {word('current', locale)}"
    elif "visited" in classes:
        title += f" — {word('visited', locale)}"
    size = FONT if r.kind != "terminator" else 6.5
    lines = wrap(text, rect.w - 4, size, True)[:2] or [""]
    first = rect.cy + size * 0.35 - (len(lines) - 1) * size * LEADING / 2
    return Symbol(r.kind, rect, r.node, TextBox(rect.cx, first, tuple(lines), size, True, "middle"),
                  title, r.state, classes)


def _text_cells(cells: list[Cell], cols: list[_Column], rect: Rect, lines: dict[str, list[str]],
                skip_roles: bool) -> None:
    for c in cols:
        if c.key.startswith("role:"):
            continue
        text = lines.get(c.key)
        box = None
        if text:
            anchor: Literal["start", "middle"] = "middle" if c.key in ("no", "time") else "start"
            x = c.x + c.w / 2 if anchor == "middle" else c.x + PAD
            box = TextBox(x, rect.y + PAD + FONT, tuple(text), FONT, False, anchor)
        cells.append(Cell(Rect(c.x, rect.y, c.w, rect.h), box, False, c.key))


def _header_cells(cols: list[_Column], heads: dict[str, list[str]], top: float, head_h: float,
                  locale: str | None, compact: bool) -> list[Cell]:
    line = HEAD_FONT * LEADING
    upper_h = line + 2 * PAD
    cells: list[Cell] = []

    def centred(rect: Rect, lines: list[str], size: float = HEAD_FONT) -> TextBox:
        first = rect.cy + size * 0.35 - (len(lines) - 1) * size * LEADING / 2
        return TextBox(rect.cx, first, tuple(lines), size, True, "middle")

    roles = [c for c in cols if c.key.startswith("role:")]
    quality = [c for c in cols if c.key in ("requirements", "time", "output")]
    for c in cols:
        if c.key in ("no", "name", "note"):
            rect = Rect(c.x, top, c.w, head_h)
        else:
            rect = Rect(c.x, top + upper_h, c.w, head_h - upper_h)
        cells.append(Cell(rect, centred(rect, heads[c.key], head_size(" ".join(heads[c.key]), c.w)), True, c.key))
    for group, key in ((roles, "performers"), (quality, "quality")):
        if group:
            rect = Rect(group[0].x, top, group[-1].x + group[-1].w - group[0].x, upper_h)
            cells.append(Cell(rect, centred(rect, wrap(word(key, locale), rect.w - 2 * PAD, HEAD_FONT, True)[:1]),
                              True, key))
    return cells


# -- routing ------------------------------------------------------------------------------------------------
_DIR = {"top": (0.0, -1.0), "bottom": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}


def _port(s: Symbol, name: str) -> Point:
    r = s.rect
    return {"top": (r.cx, r.y), "bottom": (r.cx, r.bottom), "left": (r.x, r.cy), "right": (r.right, r.cy)}[name]


@dataclass
class _Router:
    obstacles: list[Symbol]
    lanes: list[float]
    gaps: list[float]  # y of the free horizontal channels (above and below each row's symbol)
    placed: list[tuple[tuple[Point, ...], str, str, str, str]] = field(default_factory=list)
    used_out: dict[str, set[str]] = field(default_factory=dict)

    def route(self, s: Symbol, t: Symbol, row_s: Rect, row_t: Rect, up: bool) -> tuple[Point, ...]:
        outs = [p for p in ("bottom", "right", "left", "top") if p not in self.used_out.get(s.node, set())]
        outs = outs or ["bottom", "right", "left"]
        if s.kind == "connector" and not up:
            outs = ["bottom"]
        best: tuple[float, tuple[Point, ...], str, str] | None = None
        candidates = sorted(((_cost(path), k, path, out, into)
                             for out in outs for into in ("top", "left", "right", "bottom")
                             for k, path in enumerate(self._shapes(s, t, out, into, row_s, row_t))),
                            key=lambda c: (c[0], c[1]))
        for strict in (True, False):  # the cheapest clear shape; checking in cost order stops early
            for cost, _k, path, out, into in candidates:
                if self._clear(path, s, t, out, into, strict):
                    best = (cost, path, out, into)
                    break
            if best is not None:
                break
        if best is None:  # nothing is clear (never seen): the first lane shape, through whatever is there
            into = "top" if not up else "left"
            path = next(iter(self._shapes(s, t, "right", into, row_s, row_t)), (_port(s, "bottom"), _port(t, "top")))
            best = (0.0, path, "right", into)
        _cost_, path, out, into = best
        self.used_out.setdefault(s.node, set()).add(out)
        self.placed.append((path, s.node, out, t.node, into))
        return path

    def _shapes(self, s: Symbol, t: Symbol, out: str, into: str, row_s: Rect, row_t: Rect) -> Iterable[tuple[Point, ...]]:
        P, Q = _port(s, out), _port(t, into)
        dP = _DIR[out]
        dQ = (-_DIR[into][0], -_DIR[into][1])  # the direction of travel entering the port
        below_s, above_s = (s.rect.bottom + row_s.bottom) / 2, (row_s.y + s.rect.y) / 2
        below_t, above_t = (t.rect.bottom + row_t.bottom) / 2, (row_t.y + t.rect.y) / 2
        y1 = below_s if dP[1] > 0 else above_s
        y2 = above_t if dQ[1] > 0 else below_t

        def ahead(a: float, b: float, d: float) -> bool:  # b is ahead of a in direction d
            return (b - a) * d > 0.5

        vert_p, vert_q = dP[0] == 0, dQ[0] == 0
        if vert_p and vert_q:
            if abs(P[0] - Q[0]) < 0.01 and dP == dQ and ahead(P[1], Q[1], dP[1]):
                yield (P, Q)
            for y in [y1, y2] + self.gaps:
                if ahead(P[1], y, dP[1]) and ahead(y, Q[1], dQ[1]):
                    yield (P, (P[0], y), (Q[0], y), Q)
            for x in self.lanes:
                if ahead(P[1], y1, dP[1]) and ahead(y2, Q[1], dQ[1]):
                    yield (P, (P[0], y1), (x, y1), (x, y2), (Q[0], y2), Q)
        elif not vert_p and vert_q:
            if ahead(P[0], Q[0], dP[0]) and ahead(P[1], Q[1], dQ[1]):
                yield (P, (Q[0], P[1]), Q)
            for x in self.lanes:
                if ahead(P[0], x, dP[0]) and ahead(y2, Q[1], dQ[1]):
                    yield (P, (x, P[1]), (x, y2), (Q[0], y2), Q)
        elif vert_p and not vert_q:
            if ahead(P[1], Q[1], dP[1]) and ahead(P[0], Q[0], dQ[0]):
                yield (P, (P[0], Q[1]), Q)
            for x in self.lanes:
                if ahead(P[1], y1, dP[1]) and ahead(x, Q[0], dQ[0]):
                    yield (P, (P[0], y1), (x, y1), (x, Q[1]), Q)
        else:
            if abs(P[1] - Q[1]) < 0.01 and dP == dQ and ahead(P[0], Q[0], dP[0]):
                yield (P, Q)
            for x in self.lanes:
                if ahead(P[0], x, dP[0]) and ahead(x, Q[0], dQ[0]):
                    yield (P, (x, P[1]), (x, Q[1]), Q)

    def _clear(self, path: tuple[Point, ...], s: Symbol, t: Symbol, out: str, into: str, strict: bool) -> bool:
        segs = _segments(path)
        for k, (a, b) in enumerate(segs):
            for o in self.obstacles:
                if (o is s and k == 0) or (o is t and k == len(segs) - 1):
                    continue
                if _hits(a, b, o.rect, CLEARANCE if o is not s and o is not t else 0.0):
                    return False
            if not strict:
                continue
            for other, src, oport, dst, iport in self.placed:
                shared = (src == s.node and oport == out) or (dst == t.node and iport == into)
                if shared:
                    continue
                for c, d in _segments(other):
                    if _collinear(a, b, c, d):
                        return False
        return True


def _segments(path: Sequence[Point]) -> list[tuple[Point, Point]]:
    return [(path[i], path[i + 1]) for i in range(len(path) - 1)]


def _cost(path: Sequence[Point]) -> float:
    length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in _segments(path))
    return (len(path) - 2) * 40 + length


def _hits(a: Point, b: Point, r: Rect, pad: float) -> bool:
    x1, x2 = sorted((a[0], b[0]))
    y1, y2 = sorted((a[1], b[1]))
    return x1 < r.right + pad and r.x - pad < x2 and y1 < r.bottom + pad and r.y - pad < y2


def _collinear(a: Point, b: Point, c: Point, d: Point) -> bool:
    if abs(a[0] - b[0]) < 0.01 and abs(c[0] - d[0]) < 0.01 and abs(a[0] - c[0]) < 1.0:
        lo, hi = sorted((a[1], b[1]))
        lo2, hi2 = sorted((c[1], d[1]))
        return min(hi, hi2) - max(lo, lo2) > 0.5
    if abs(a[1] - b[1]) < 0.01 and abs(c[1] - d[1]) < 0.01 and abs(a[1] - c[1]) < 1.0:
        lo, hi = sorted((a[0], b[0]))
        lo2, hi2 = sorted((c[0], d[0]))
        return min(hi, hi2) - max(lo, lo2) > 0.5
    return False


def _lanes(role_cols: list[_Column]) -> list[float]:
    """The x of every lane: in each role column's free margins, kept off the grid lines (an arrow
    on a column's border would read as part of the table) and off the widest symbol."""
    xs: list[float] = []
    for c in role_cols:
        widest = max(_symbol_size(k, c.w)[0] for k in ("decision", "process", "terminator", "connector"))
        free = (c.w - widest) / 2 - CLEARANCE - 0.5  # from the border to the widest symbol, less clearance
        inner = 3.5 if free >= 6 else 2.0
        n = max(1, int((free - inner) // LANE_STEP) + 1)
        for k in range(n):
            xs.append(c.x + inner + k * LANE_STEP)
            xs.append(c.right - inner - k * LANE_STEP)
    return sorted(xs)


def _route_page(p: int, edges: list[_Edge], crossing: dict[int, str], page_of: dict[str, int],
                sym_of: dict[str, Symbol], row_rect: dict[str, Rect], role_cols: list[_Column],
                locale: str | None, hl: Highlight) -> list[Arrow]:
    gaps: list[float] = []
    for node, s in sym_of.items():
        r = row_rect[node]
        gaps += [(r.y + s.rect.y) / 2, (s.rect.bottom + r.bottom) / 2]
    router = _Router(list(sym_of.values()), _lanes(role_cols), sorted(gaps))
    order = list(sym_of)

    jobs: list[tuple[int, int, _Edge, str, str]] = []  # (priority, edge index, edge, from node, to node)
    for k, e in enumerate(edges):
        src, dst = e.source, e.target
        if k in crossing:
            node = f"offpage:{crossing[k]}"
            if page_of[e.source] == p:
                dst = node
            elif page_of[e.target] == p:
                src = node
            else:
                continue
        elif page_of[e.source] != p:
            continue
        if not e.drawn:
            continue
        gap = order.index(dst) - order.index(src)
        ends_between = all(not n.startswith("offpage:") and sym_of[n].kind == "terminator" and n != START
                           for n in order[order.index(src) + 1:order.index(dst)]) if gap > 0 else False
        main = gap > 0 and ends_between and sym_of[dst].kind != "terminator"  # on to the next activity
        jobs.append((0 if main else 1 if gap == 1 else 2 if gap > 1 else 3, k, e, src, dst))
    arrows: list[Arrow] = []
    labelled: list[bool] = []
    edges_of: dict[int, _Edge] = {}
    for _prio, k, e, src, dst in sorted(jobs, key=lambda j: (j[0], order.index(j[3]), j[1])):
        edges_of[len(arrows)] = e
        s, t = sym_of[src], sym_of[dst]
        up = order.index(dst) <= order.index(src) and src != dst or (src == dst)
        if src == dst:
            up = False
        path = router.route(s, t, row_rect[src], row_rect[dst], up and src != dst)
        taken = e.edge in hl.taken
        classes = tuple(c for c, on in (("taken", taken), ("return", e.returns)) if on)
        arrows.append(Arrow(path, src, dst, e.title, None, e.returns, e.edge, classes))
        labelled.append(e.decision and src == e.source)
    return _place_labels(arrows, labelled, edges_of, list(sym_of.values()), role_cols[0].x, role_cols[-1].right,
                         min(c.w for c in role_cols))


def _box_of(t: TextBox) -> Rect:
    w = max((text_width(line, t.size) for line in t.lines), default=0.0)
    x = t.x if t.anchor == "start" else t.x - w if t.anchor == "end" else t.x - w / 2
    return Rect(x, t.y - t.size, w, len(t.lines) * t.leading)


def _body(s: Symbol) -> list[Rect]:
    """A symbol's ink for label placement: a diamond leaves its bounding box's corners free."""
    r = s.rect
    if s.kind != "decision":
        return [r]
    return [Rect(r.cx - r.w / 4, r.y, r.w / 2, r.h), Rect(r.x, r.cy - r.h / 4, r.w, r.h / 2)]


def _place_labels(arrows: list[Arrow], labelled: list[bool], edges_of: dict[int, _Edge], symbols: list[Symbol],
                  left: float, right: float, column: float) -> list[Arrow]:
    """Branch labels where they cover the least: no symbol, no other label, few lines, inside the
    role columns; tried beside and above/below each branch's first segment."""
    placed: list[Rect] = []
    out = []
    segments = [(a, b) for arrow in arrows for a, b in _segments(arrow.points)]
    bodies = [_body(s) for s in symbols]
    for k, arrow in enumerate(arrows):
        if not labelled[k]:
            out.append(arrow)
            continue
        best: tuple[float, TextBox] | None = None
        own = set(_segments(arrow.points))
        others = [seg for seg in segments if seg not in own]
        for distance, t in _label_spots(arrow.points, edges_of[k], column):
            score = distance * 0.2  # nearer its port reads better
            if best is not None and score >= best[0]:
                break  # spots come nearest first: none further on can do better
            box = _box_of(t)
            score += 100 * sum(any(box.overlaps(part, 1.0) for part in bodies[i]) for i in range(len(symbols)))
            score += 60 * sum(box.overlaps(p) for p in placed)
            score += 30 * sum(_hits(a, b, box, 0.0) for a, b in others)
            overflow = max(0.0, left - box.x) + max(0.0, box.right - right)
            score += (100 + 2 * overflow) if overflow > 0.5 else 0.0
            if best is None or score < best[0]:
                best = (score, t)
        assert best is not None
        placed.append(_box_of(best[1]))
        out.append(replace(arrow, label=best[1]))
    return out


def _label_spots(path: tuple[Point, ...], e: _Edge, column: float) -> list[tuple[float, TextBox]]:
    """Where a branch label may go, each with how far along its arrow that is: beside each segment
    (both sides), a little way past each bend, nearest the port first."""
    text = " / ".join(e.labels)
    spots: list[tuple[float, TextBox]] = []
    shapes = {tuple(wrap(text, w, SMALL)) for w in (max(30.0, column - 4), 62.0, 90.0)}
    for lines in sorted(shapes, key=len):
        spots += _spots_for(path, lines)
    return sorted(spots, key=lambda spot: spot[0])  # stable: fewer lines first at the same distance


def _spots_for(path: tuple[Point, ...], lines: tuple[str, ...]) -> list[tuple[float, TextBox]]:
    lead = SMALL * LEADING
    h = len(lines) * lead
    spots: list[tuple[float, TextBox]] = []
    along = 0.0
    for (x0, y0), (x1, y1) in _segments(path):
        length = abs(x1 - x0) + abs(y1 - y0)
        for d in (2.0, 8.0, 16.0, 26.0, 38.0):
            if d > max(length - 4, 2.0):
                break
            if abs(x0 - x1) < 0.01:  # vertical: left or right of the line
                step = 1.0 if y1 > y0 else -1.0
                y = y0 + step * d + (SMALL if step > 0 else -h + lead)
                spots.append((along + d, TextBox(x0 + 2, y, lines, SMALL)))
                spots.append((along + d, TextBox(x0 - 2, y, lines, SMALL, False, "end")))
            else:  # horizontal: above or below the line
                step = 1.0 if x1 > x0 else -1.0
                x = x0 + step * d
                anchor: Literal["start", "end"] = "start" if step > 0 else "end"
                spots.append((along + d, TextBox(x, y0 - 2 - h + lead, lines, SMALL, False, anchor)))
                spots.append((along + d, TextBox(x, y0 + SMALL + 2, lines, SMALL, False, anchor)))
                back: Literal["start", "end"] = "end" if step > 0 else "start"
                end_x = x1 - step * d  # ending at the far end of the segment, toward the port
                spots.append((along + d + 1, TextBox(end_x, y0 - 2 - h + lead, lines, SMALL, False, back)))
                spots.append((along + d + 1, TextBox(end_x, y0 + SMALL + 2, lines, SMALL, False, back)))
        along += length
    return spots


def charts(sop: Sop, *, flow_id: str | None = None, locale: str | None = None,
           orientation: Orientation = "portrait", compact: bool = False,
           highlight: Highlight | None = None) -> list[Chart]:
    """The table of every flow of ``sop`` (or of ``flow_id`` only), case flows first, then scheduled."""
    flows = [f for f in sop.flows if flow_id is None or f.id == flow_id]
    return [chart(sop, f, locale=locale, orientation=orientation, compact=compact, highlight=highlight)
            for f in sorted(flows, key=lambda f: f.schedule is not None)]
