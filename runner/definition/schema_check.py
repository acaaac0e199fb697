"""JSON Schema validation whose every error keeps the line and column it is about.

jsonschema reports paths into the data; the SourceMap turns them into positions. Some messages are
rewritten to say what to do (an unknown key names the key and a near valid one) because the raw
jsonschema wording is written for programmers, not for the admin editing an SOP.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.resources import files
from typing import Any, Mapping

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from ..yamlsource import SourceMap
from .problems import MAX_PROBLEMS, STOPPED, Problem, json_path, suggest

# The schema ships inside the package (runner/schemas/); the repository's top-level
# schemas/sop.schema.json, which editors point at, is a symlink to this file.
SCHEMA = files("runner") / "schemas" / "sop.schema.json"


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


MAX_ERRORS = 1_000  # schema errors collected before the check stops (see check)


def check(data: Any, smap: SourceMap, path: str) -> list[Problem]:
    """Every schema problem, in document order, unless the data has more than MAX_ERRORS of them
    (tens of thousands of broken list items): then the first MAX_ERRORS found, and a last problem on
    line 0 saying the check stopped (``problems.capped`` keeps it last). Validating the rest would
    take seconds per file, for problems nobody reads past the first hundred."""
    problems: list[Problem] = []
    for count, error in enumerate(validator().iter_errors(data)):
        if count == MAX_ERRORS:
            problems.sort(key=lambda p: (p.line, p.column, p.message))
            return [*problems, Problem(path, 0, 0, STOPPED)]
        problems.extend(_explain(error, smap, path))
    problems.sort(key=lambda p: (p.line, p.column, p.message))
    return problems


def _explain(error: ValidationError, smap: SourceMap, path: str) -> list[Problem]:
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    instance: Any = error.instance
    if error.validator in ("oneOf", "anyOf") and error.context:
        deepest = best_match(error.context)
        if deepest is not None and len(deepest.absolute_path) >= len(error.absolute_path):
            if deepest.validator != "type" or len(deepest.absolute_path) > len(error.absolute_path):
                return _explain(deepest, smap, path)
        where = tuple(error.absolute_path)
        pos = smap.locate(where)
        return [Problem(path, pos.line, pos.column, f"{json_path(where)}: {_short(error.instance)} is not valid here; "
                        f"{_expected(schema)}")]
    where = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(schema.get("properties", {}))
        out: list[Problem] = []
        for key in instance:
            if key in allowed:
                continue
            if any(re.match(p, key) for p in schema.get("patternProperties", {})):
                continue
            pos = smap.locate(where + (key,), key=True)
            # Keys come in document order, so only the first MAX_PROBLEMS can be among the problems
            # shown (problems.capped): the others are counted, and spared the costly suggestion.
            hint = suggest(key, allowed) if len(out) < MAX_PROBLEMS else ""
            out.append(Problem(path, pos.line, pos.column, f"{json_path(where)}: unknown field '{key}'{hint}"))
        if out:
            return out
    pos = smap.locate(where)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [Problem(path, pos.line, pos.column, f"{json_path(where)}: missing required field '{missing}'")]
    if error.validator == "pattern" and schema.get("pattern") == "^[a-z][a-z0-9_]*$":
        return [Problem(path, pos.line, pos.column,
                        f"{json_path(where)}: '{error.instance}' is not a valid id; use snake_case "
                        "(lowercase letters, digits, underscores, starting with a letter)")]
    if error.validator == "enum":
        values: Any = error.validator_value
        options = [str(o) for o in values]
        return [Problem(path, pos.line, pos.column,
                        f"{json_path(where)}: '{error.instance}' is not one of {', '.join(options)}"
                        f"{suggest(str(error.instance), options)}")]
    if error.validator == "propertyNames":
        pos = smap.locate(where + (instance,), key=True)
    return [Problem(path, pos.line, pos.column, f"{json_path(where)}: {error.message}")]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(schema: Mapping[str, Any]) -> str:
    return str(schema.get("description") or "see the schema")
