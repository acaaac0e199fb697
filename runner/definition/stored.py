"""Stored definition versions are trusted history: reading one back never re-judges it.

A version is validated once, when it is published. Cases then run on it for months; if a later
release of SOP Runner tightens a rule (a new schema constraint, a new graph check), re-validating the
stored text would turn those running cases into errors. So a stored version records the *format* it
was written in, and ``load_stored`` rebuilds the model without the schema and graph checks, after
stepping the data through ``MIGRATIONS`` up to the current ``FORMAT`` (SpiffWorkflow's serializer
VERSION + MIGRATIONS idea). Only a text that cannot be read at all — corrupt YAML, a model that cannot
be built, a format newer than this release — raises ``StoredVersionError``.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import yamlsource
from ..errors import StoredVersionError
from .loader import _Builder, version_of
from .model import Sop
from .problems import Problem

FORMAT = 1
"""The definition format this release writes. Bump it when the language changes shape, and add the
step from the previous format to ``MIGRATIONS``."""

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""``MIGRATIONS[n]`` turns parsed data of format ``n`` into format ``n + 1``."""


def load_stored(text: str, fmt: int = FORMAT, path: str = "<database>") -> Sop:
    """The Sop of a stored version, built as it was published (no schema or graph re-check)."""

    def fail(message: str) -> StoredVersionError:
        return StoredVersionError([Problem(path, 1, 1, message)])

    if fmt > FORMAT:
        raise fail(f"stored in definition format {fmt}; this release reads formats up to {FORMAT}")
    try:
        data, smap = yamlsource.load(text, refuse_tags=False)  # as published, when tags were still read
    except yamlsource.YamlSyntaxError as exc:
        raise StoredVersionError([Problem(path, p.line, p.column, p.message) for p in exc.problems]) from None
    if not isinstance(data, dict):
        raise fail("the stored text is not an SOP definition")
    for step in range(fmt, FORMAT):
        data = MIGRATIONS[step](data)
    builder = _Builder(data, smap, path)
    try:
        return builder.build(version=version_of(text))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # Only reachable for a text that was never valid (edited in the database by hand).
        raise fail(f"the stored text cannot be built into a definition ({type(exc).__name__}: {exc})") from None
