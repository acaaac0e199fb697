"""State diagrams of a definition, drawn by ``transitions``' own ``GraphMachine``.

The diagram is built from the same states and triggers the engine runs: one state per activity id
and per end id (ends are ``final``), one transition ``<activity>__<action>`` per action. States are
labelled ``"No. Name"`` (ends by their name), transitions by the action's label, starts by the
flow's name — each bilingual (``"Teruskan / Forward"``) when the definition has translations and no
``locale`` is asked for; so is the title.

Two engines of the library are used:

* ``"mermaid"`` (``graph_engine="mermaid"``): a Mermaid ``stateDiagram-v2``, pure Python;
* ``"dot"`` (``graph_engine="graphviz"``): Graphviz DOT source text, made by the ``graphviz`` Python
  package without running the ``dot`` program (render it yourself: ``dot -Tsvg``).

Several flows. ``GraphMachine`` knows one ``initial`` state and, for a flat machine, draws no final
markers; nested (hierarchical) machines would give each flow a sub-diagram, but then the Mermaid
engine cannot highlight a state inside one. So the machine stays flat, is built with no initial
state, and one start marker per flow is added to the graph object the library returns: in Mermaid
an arrow ``[*] --> start`` labelled with the flow's name (Mermaid draws all root-level ``[*]`` as one
dot), in DOT a point node ``__start__<flow>`` per flow. Each end gets a final marker the same way
(``end --> [*]``; a ``__end__<flow>`` bull's-eye in DOT). Those names cannot clash with a state:
definition ids start with a letter.

Highlighting. ``GraphMachine`` styles its model's state as ``active``; the current state is shown
by attaching a small model whose state *is* the current one. With no current state the model's
styling is reset, so nothing is highlighted.

Safety. No string from YAML is given to ``transitions`` as a callback: the states and transitions
carry only names, labels and ``final``, and the model has no ``on_enter_*``/``on_exit_*`` methods
the library could find by name. The library writes labels into the output verbatim, so each label
is made safe for the engine first. Mermaid: characters its state-diagram grammar or its HTML labels
give a meaning to are replaced by look-alikes (``"`` → curly quotes, ``:`` in a transition label →
``∶``, ``;`` → U+037E, ``<``/``>`` → U+02C2/U+02C3) and a word joiner breaks the keywords
``direction TB`` and ``[[choice]]``; Mermaid's own ``#59;`` entity codes are not used because
Mermaid stops decoding them once classes are applied, and GraphMachine styles every state (Mermaid
11 also reads ``*text*`` as emphasis, which changes how text looks but not what it says, and is left
alone). DOT: backslashes are doubled (the ``graphviz`` package adds the quotes). Line breaks become
spaces.
"""

from __future__ import annotations

import importlib.util
import json
import re
from typing import TYPE_CHECKING, Any, Callable, Protocol, cast

from transitions import State
from transitions.extensions import GraphMachine

if TYPE_CHECKING:  # pragma: no cover - the protocol exists only in transitions' stubs
    from transitions.extensions.diagrams_base import GraphProtocol

from .definition.model import Sop, Text
from .engine import trigger_name
from .errors import ConfigurationError, InvalidInput

FORMATS = ("mermaid", "dot")

__all__ = ["FORMATS", "diagram", "graphviz_available", "states_of"]


def graphviz_available() -> bool:
    """Whether the ``graphviz`` Python package (needed for ``dot``) can be imported."""
    return importlib.util.find_spec("graphviz") is not None


def states_of(sop: Sop) -> list[str]:
    """Every state a case of ``sop`` can be in: activity ids, then end ids."""
    return [a.id for a in sop.activities] + [e.id for f in sop.flows for e in f.ends]


# -- labels -----------------------------------------------------------------------------------------
# Mermaid's stateDiagram grammar ends a transition label at `:` or `;`, a `state "..."` label at `"`,
# reads `<<fork>>`/`[[choice]]` in a state line and `direction TB` anywhere on a line as statements,
# and renders labels as HTML (`<b>` is bold, `<x>` vanishes). Its entity codes (`#59;`) are not
# decoded once classes are applied — and GraphMachine styles every state with one — so look-alike
# characters are used instead, and an invisible word joiner where only a keyword must be broken.
_WJ = "\u2060"  # WORD JOINER
_MERMAID_CHARS = str.maketrans({
    ";": "\u037e",  # GREEK QUESTION MARK, drawn as ";"
    "<": "\u02c2",  # MODIFIER LETTER LEFT ARROWHEAD, drawn as "<"
    ">": "\u02c3",  # MODIFIER LETTER RIGHT ARROWHEAD, drawn as ">"
})
_MERMAID_KEYWORDS = re.compile(r"(?i)(direction)(?=\s+(?:TB|BT|RL|LR))|(\[\[)(?=(?:fork|join|choice)\]\])")
_QUOTE = re.compile(r'"')


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mermaid_text(text: str) -> str:
    """A state label for Mermaid: no `"`, no HTML, no statement keywords."""
    text = _one_line(text).translate(_MERMAID_CHARS)
    quotes = iter(("\u201c", "\u201d") * len(text))  # "…" becomes “…”
    text = _QUOTE.sub(lambda _m: next(quotes), text)
    return _MERMAID_KEYWORDS.sub(lambda m: m.group(0) + _WJ, text)


def _mermaid_edge_text(text: str) -> str:
    """A transition label for Mermaid: as a state label, and no `:` (drawn as RATIO)."""
    return _mermaid_text(text).replace(":", "\u2236")


def _dot_text(text: str) -> str:
    """A state label for DOT. The graphviz package quotes it and escapes its quotes but keeps
    backslashes (for DOT escapes such as the ``\\l`` GraphMachine appends to state labels)."""
    return _one_line(text).replace("\\", "\\\\")


def _dot_edge_text(text: str) -> str:
    """A transition label for DOT: as a state label, and never ``<...>``, which the graphviz package
    passes through unquoted as an HTML-like label (state labels end in ``\\l``, so never are)."""
    text = _dot_text(text)
    return " " + text if text.startswith("<") and text.endswith(">") else text


def _label(label: Text, locale: str | None) -> str:
    """Display text in ``locale``, or with no locale every language it has: "Teruskan / Forward"."""
    if locale:
        return label.get(locale)
    texts = [label.id]
    for _lang, translated in label.translations:
        if translated not in texts:
            texts.append(translated)
    return " / ".join(texts)


def _flow_label(name: str, schedule: str | None) -> str:
    return f"{name} ({schedule})" if schedule else name


# -- the machine ------------------------------------------------------------------------------------
class _LabelledState(State):
    """A state with a display ``label``, which ``GraphMachine``'s markup reads (core ``State`` has none)."""

    def __init__(self, *args: Any, label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label = label


class _DiagramMachine(GraphMachine):
    state_cls = _LabelledState
    # Top to bottom, as a Permenpan-RB 35/2012 flowchart reads (the library's default is left to right;
    # a copy, so GraphMachine's own class attribute is left alone).
    machine_attributes = {**GraphMachine.machine_attributes, "rankdir": "TB"}


class _Case:
    """The model whose state the diagram highlights; ``GraphMachine.add_model`` binds ``get_graph``."""

    # Both are set by GraphMachine.add_model; declared only, so the library finds no such attribute.
    state: str
    get_graph: Callable[..., GraphProtocol]


class _DotGraph(Protocol):
    """What is used of the ``graphviz.Digraph`` the graphviz engine returns (graphviz ships no types)."""

    source: str

    def node(self, name: str, label: str | None = ..., **attrs: str) -> None: ...

    def edge(self, tail_name: str, head_name: str, label: str | None = ..., **attrs: str) -> None: ...


def diagram(sop: Sop, fmt: str = "mermaid", current: str | None = None, locale: str | None = None) -> str:
    """The state diagram of ``sop`` as Mermaid (``fmt="mermaid"``) or DOT (``fmt="dot"``) source.

    ``current`` — a state (activity or end id) to highlight with the library's ``active`` style.
    ``locale`` — show names and labels in that language only; by default every translation is shown.
    Raises ``InvalidInput`` for an unknown format or state and ``ConfigurationError`` when ``dot``
    is asked for without the ``graphviz`` package.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown diagram format '{fmt}'; use one of: {', '.join(FORMATS)}")
    if fmt == "dot" and not graphviz_available():
        raise ConfigurationError("--format dot needs the graphviz Python package",
                                 hint="pip install graphviz, or use --format mermaid")
    names = states_of(sop)
    if current is not None and current not in names:
        raise InvalidInput(f"'{current}' is not a state of {sop.id}; its states are: {', '.join(names)}")
    esc, esc_edge = (_mermaid_text, _mermaid_edge_text) if fmt == "mermaid" else (_dot_text, _dot_edge_text)

    states: list[dict[str, Any]] = [{"name": a.id, "label": esc(f"{a.no}. {_label(a.name, locale)}")}
                                    for a in sop.activities]
    states += [{"name": e.id, "label": esc(_label(e.name, locale)), "final": True} for f in sop.flows for e in f.ends]
    transitions = [
        {"trigger": trigger_name(a.id, x.id), "source": a.id, "dest": x.to, "label": esc_edge(_label(x.label, locale))}
        for a in sop.activities for x in a.actions
    ]
    # Mermaid puts the title in YAML front matter (`---` lines); DOT quotes it as the graph's label.
    heading = _label(sop.title, locale)
    title = f"title: {json.dumps(_one_line(heading), ensure_ascii=False)}" if fmt == "mermaid" else esc_edge(heading)
    machine = _DiagramMachine(
        model=None, states=states, transitions=transitions, initial=None, auto_transitions=False,
        title=title, graph_engine="mermaid" if fmt == "mermaid" else "graphviz",
    )
    model = _Case()
    machine.add_model(model, initial=current or sop.flows[0].start)  # draws that state as "active"
    if current is None:
        machine.model_graphs[id(model)].reset_styling()
    graph = model.get_graph()

    if fmt == "mermaid":
        lines = [getattr(graph, "source")]
        lines += [f"  [*] --> {f.start}: {esc_edge(_flow_label(_label(f.name, locale), f.schedule))}" for f in sop.flows]
        lines += [f"  {e.id} --> [*]" for f in sop.flows for e in f.ends]
        return "\n".join(lines) + "\n"

    dot = cast(_DotGraph, graph)
    marker = {"label": "", "shape": "point", "width": "0.15", "style": "filled", "fillcolor": "black"}
    for f in sop.flows:
        start, end = f"__start__{f.id}", f"__end__{f.id}"
        dot.node(start, **marker)
        dot.edge(start, f.start, label=esc_edge(_flow_label(_label(f.name, locale), f.schedule)))
        if f.ends:
            dot.node(end, **marker, peripheries="2")
            for e in f.ends:
                dot.edge(e.id, end)
    return dot.source
