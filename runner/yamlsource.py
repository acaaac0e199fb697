"""Safe YAML reading that remembers where every value came from.

Admins edit definitions by hand, so every problem must point at a line and column. PyYAML's
constructors throw positions away; here we compose the node graph ourselves and build plain
dicts/lists/scalars alongside a map from each value's path to its position.

Deliberate differences from ``yaml.safe_load``:

* duplicate keys are an error (PyYAML silently keeps the last one, hiding an admin's mistake);
* only ``true``/``false`` are booleans: ``yes``/``no``/``on``/``off`` stay strings, because option
  values such as ``ya``/``tidak`` or ``on`` must not silently turn into ``True``;
* dates and timestamps stay strings; the schema validates their format and the loader parses them,
  so a date has exactly one meaning everywhere;
* alias expansion is bounded, so a "billion laughs" document is refused instead of eating memory;
* control characters (a form feed pasted from a word processor, a NUL, …) are refused one by one with
  their positions, where PyYAML would stop at the first with a position-less ReaderError;
* tags (``!!str``, ``!foo``, ``!!python/object/apply:…``) are refused on every node: a definition is
  plain data, and a tag could only hide a type or, with an unsafe loader, run code.

Parsing uses libyaml's event parser when PyYAML has it (a 60,000-key file parses in a fraction of
a second instead of seconds) and composes the nodes here, in Python, exactly as PyYAML would. A text
libyaml refuses, or one using a construct where the two parsers are known to disagree (``_PYYAML_ONLY``),
is parsed by PyYAML's pure-Python parser, whose messages and positions are the ones admins are shown;
tests/test_yamlsource.py checks that both give the same data, positions and problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

MAX_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64  # also stops a recursive alias (``a: &a [*a]``) from recursing forever
MAX_LISTED = 1_000  # problems of unreadable characters listed; the rest are only counted

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"


Tagged: TypeAlias = list[tuple[int, int, str]]  # (line, column, tag) of every explicit tag, 1-based


def _note_tag(tagged: Tagged, event: Event | None) -> None:
    """Remember an explicit tag (``!!str``, ``!foo``, ``!``) on the node ``event`` starts."""
    tag = None if event is None or isinstance(event, AliasEvent) else getattr(event, "tag", None)
    mark = event.start_mark if event is not None else None
    if tag is not None:
        tagged.append((mark.line + 1, mark.column + 1, str(tag)) if mark is not None else (1, 1, str(tag)))


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like booleans and no implicit timestamps, noting explicit tags."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.tagged: Tagged = []

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        _note_tag(self.tagged, self.peek_event())  # type: ignore[no-untyped-call]  # untyped in the stubs
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml: the pure-Python parser only
    _FastLoader: type[_Loader] | None = None
else:
    class _CLoader(Composer, CParser, SafeConstructor, Resolver):
        """libyaml's event parser under PyYAML's own (Python) composer, so tags are noted as above."""

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.tagged: Tagged = []

        def compose_node(self, parent: Node | None, index: int) -> Node | None:
            _note_tag(self.tagged, self.peek_event())
            return super().compose_node(parent, index)

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _FastLoader = _CLoader  # type: ignore[assignment]  # same interface as _Loader, another base

# What PyYAML's reader refuses (it raises a ReaderError for the first one, without a line or column).
_UNPRINTABLE = yaml.reader.Reader.NON_PRINTABLE
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # line breaks as PyYAML counts them
# Where libyaml and PyYAML's Python parser disagree, the Python parser decides (its messages are the
# ones admins see): tabs, which libyaml accepts in places PyYAML refuses; explicit ``? key`` entries,
# whose missing value libyaml places elsewhere; and a block scalar header run into a comment (``|#``).
_PYYAML_ONLY = re.compile(r"\t|(?:^|[\s\[{,])\?(?:\s|$)|[|>][-+0-9]*#")
_CHARACTER_NAMES = {0x00: "NUL", 0x07: "bell", 0x08: "backspace", 0x0B: "vertical tab", 0x0C: "form feed",
                    0x1B: "escape", 0x7F: "delete", 0xFFFE: "not a character", 0xFFFF: "not a character"}

Path: TypeAlias = tuple[str | int, ...]  # a path into the document: ("activities", 3, "performers", 0)


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a document stands in its file."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Position:
        """Position of ``path``, falling back to the nearest ancestor that has one."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), Position(1, 1))


@dataclass(frozen=True)
class YamlProblem:
    line: int
    column: int
    message: str


class YamlSyntaxError(Exception):
    """``problems`` in document order; ``unlisted`` counts further ones found but not listed."""

    def __init__(self, problems: list[YamlProblem], unlisted: int = 0):
        self.problems = problems
        self.unlisted = unlisted
        super().__init__("; ".join(p.message for p in problems))


def _pos(mark: Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def load(text: str, *, refuse_tags: bool = True) -> tuple[Any, SourceMap]:
    """Parse ``text`` into plain Python data plus its SourceMap, or raise YamlSyntaxError.

    ``refuse_tags=False`` is for versions published before tags were refused (trusted history,
    ``definition.stored``): a tag on a scalar is applied by the safe constructor as it was then, a
    tag on a list or mapping is ignored; nothing but plain data is ever built either way."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlSyntaxError([YamlProblem(1, 1, f"file is larger than {MAX_BYTES} bytes")])
    unprintable, unlisted = unprintable_characters(text)
    if unprintable:
        raise YamlSyntaxError(unprintable, unlisted)
    loader, node = _compose(text)
    try:
        if loader.tagged and refuse_tags:
            raise YamlSyntaxError([
                YamlProblem(line, column, f"tags are not allowed (found '{_short_tag(tag)}'); "
                            "write the plain value, without a tag")
                for line, column, tag in sorted(loader.tagged)
            ])
        smap = SourceMap()
        if node is None:
            return None, smap
        builder = _Builder(loader, smap)
        data = builder.build(node, ())
        if builder.problems:
            raise YamlSyntaxError(builder.problems)
        return data, smap
    finally:
        loader.dispose()


def unprintable_characters(text: str, listed: int = MAX_LISTED) -> tuple[list[YamlProblem], int]:
    """A problem for each character PyYAML's reader refuses, at its line and column: the first
    ``listed`` of them, and how many more there are (a file of NULs is a million problems)."""
    problems: list[YamlProblem] = []
    line, line_start, scanned = 1, 0, 0
    matches = _UNPRINTABLE.finditer(text)
    for match in matches:
        if len(problems) == listed:
            return problems, 1 + sum(1 for _ in matches)
        at = match.start()
        for brk in _BREAK.finditer(text, scanned, at):
            line, line_start = line + 1, brk.end()
        scanned = at
        column = at - line_start - text.count("\ufeff", line_start, at) + 1  # PyYAML does not count a BOM
        code = ord(match.group())
        name = _CHARACTER_NAMES.get(code)
        if 0xD800 <= code <= 0xDFFF:
            kind = "unpaired surrogate"
        elif code in (0xFFFE, 0xFFFF):
            kind = "character"
        else:
            kind = "control character"
        label = f"{kind} U+{code:04X}" + (f" ({name})" if name else "")
        problems.append(YamlProblem(line, column, f"{label} is not allowed; delete it "
                                    "(it is invisible in most editors)"))
    return problems, 0


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _compose(text: str) -> tuple[_Loader, Node | None]:
    """The node graph of ``text``: by libyaml when it accepts the text, else by PyYAML's parser."""
    if _FastLoader is not None and not _PYYAML_ONLY.search(text):
        fast = None
        try:
            fast = _FastLoader(text)
            return fast, fast.get_single_node()
        except (yaml.YAMLError, RecursionError, UnicodeError):
            if fast is not None:  # libyaml refuses it: PyYAML's parser says why, in its own words
                fast.dispose()
    loader = _Loader(text)
    try:
        try:
            return loader, loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = _pos(mark) if mark else Position(1, 1)
            message = exc.problem or str(exc)
            if "\t" in message or "'\\t'" in message or "tab" in message:
                message = "tab characters are not allowed for indentation; use spaces"
            elif message == "mapping values are not allowed here":
                # PyYAML's words for a key indented unlike its neighbours (read as the rest of the
                # value above it) or an unquoted value holding ': '.
                message = ("unexpected ':' here: indent this key exactly like the keys beside it, "
                           "or put a value that contains ': ' in quotes")
            elif exc.context:
                message = f"{message} ({exc.context})"
            raise YamlSyntaxError([YamlProblem(pos.line, pos.column, message)]) from None
        except yaml.YAMLError as exc:
            raise YamlSyntaxError([YamlProblem(1, 1, str(exc))]) from None
        except RecursionError:
            raise YamlSyntaxError([YamlProblem(1, 1, "document is nested too deeply")]) from None
    except BaseException:
        loader.dispose()
        raise


class _Builder:
    def __init__(self, loader: _Loader, smap: SourceMap):
        self.loader = loader
        self.smap = smap
        self.problems: list[YamlProblem] = []
        self.count = 0

    def build(self, node: Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                p = _pos(node.start_mark)
                self.problems.append(
                    YamlProblem(p.line, p.column, f"document expands to more than {MAX_NODES} values (alias bomb?)")
                )
            return None
        if len(path) > MAX_DEPTH:
            if not any("nested more than" in p.message for p in self.problems):
                p = _pos(node.start_mark)
                self.problems.append(YamlProblem(p.line, p.column, f"document is nested more than {MAX_DEPTH} "
                                                 "levels deep (an alias that contains itself?)"))
            return None
        self.smap.values[path] = _pos(node.start_mark)
        if isinstance(node, ScalarNode):
            if node.tag == _STR_TAG:  # most values: what construct_object would return, for less
                return node.value
            try:
                return self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as exc:  # e.g. a bare `=` or `<<`, which YAML 1.1 gives a type of its own
                p = _pos(node.start_mark)
                detail = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else str(exc)
                self.problems.append(YamlProblem(p.line, p.column, f"cannot read value '{node.value}' ({detail}); "
                                                 "put it in quotes"))
                return None
        if isinstance(node, SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                kp = _pos(key_node.start_mark)
                if not isinstance(key_node, ScalarNode):
                    self.problems.append(YamlProblem(kp.line, kp.column, "mapping keys must be plain text"))
                    continue
                key = key_node.value
                if key in result:
                    first = self.smap.keys[path + (key,)]
                    self.problems.append(
                        YamlProblem(kp.line, kp.column, f"duplicate key '{key}' (first defined on line {first.line})")
                    )
                    continue
                self.smap.keys[path + (key,)] = kp
                result[key] = self.build(value_node, path + (key,))
            return result
        p = _pos(node.start_mark)  # pragma: no cover - PyYAML has only three node kinds
        self.problems.append(YamlProblem(p.line, p.column, "unsupported YAML node"))
        return None
