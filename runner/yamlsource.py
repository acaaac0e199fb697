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
* alias expansion is bounded, so a "billion laughs" document is refused instead of eating memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64  # also stops a recursive alias (``a: &a [*a]``) from recursing forever

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like booleans and no implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

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
    def __init__(self, problems: list[YamlProblem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def _pos(mark: Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def load(text: str) -> tuple[Any, SourceMap]:
    """Parse ``text`` into plain Python data plus its SourceMap, or raise YamlSyntaxError."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlSyntaxError([YamlProblem(1, 1, f"file is larger than {MAX_BYTES} bytes")])
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = _pos(mark) if mark else Position(1, 1)
            message = exc.problem or str(exc)
            if "\t" in message or "'\\t'" in message or "tab" in message:
                message = "tab characters are not allowed for indentation; use spaces"
            elif exc.context:
                message = f"{message} ({exc.context})"
            raise YamlSyntaxError([YamlProblem(pos.line, pos.column, message)]) from None
        except yaml.YAMLError as exc:
            raise YamlSyntaxError([YamlProblem(1, 1, str(exc))]) from None
        except RecursionError:
            raise YamlSyntaxError([YamlProblem(1, 1, "document is nested too deeply")]) from None
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
            try:
                return self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                p = _pos(node.start_mark)
                self.problems.append(YamlProblem(p.line, p.column, f"cannot read value: {exc}"))
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
