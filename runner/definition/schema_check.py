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
    """The validator of the shipped schema. The schema itself is checked against the metaschema by
    the tests (tests/test_schema_file.py), not here: that check cost a cold `sop validate` a third
    of its time, for a file that does not change after release."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
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
        candidates = error.context
        if isinstance(instance, dict):
            # A mapping given where text or a mapping may stand (display text, time_limit) was meant
            # as the mapping: say what it lacks ("missing required field 'id'"), not "not a string".
            candidates = [e for e in error.context if e.validator != "type"] or error.context
        deepest = best_match(candidates)
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
            if "propertyNames" in schema:
                continue  # reported once, by the propertyNames rule, with the valid names
            pos = smap.locate(where + (key,), key=True)
            # Keys come in document order, so only the first MAX_PROBLEMS can be among the problems
            # shown (problems.capped): the others are counted, and spared the costly suggestion.
            hint = suggest(key, allowed) if len(out) < MAX_PROBLEMS else ""
            if instance[key] is None and " " in key:
                # `{id: Teruskan, lalu tutup}`: in a {...} mapping a comma ends the text, and the rest
                # becomes a key without a value.
                hint = (f" ('{key}' looks like the rest of a text cut at a comma: inside {{...}} a comma "
                        "separates entries, so put the whole text in quotes)")
            out.append(Problem(path, pos.line, pos.column, f"{json_path(where)}: unknown field '{key}'{hint}"))
        if out or "propertyNames" in schema:
            return out
    pos = smap.locate(where)
    if "propertyNames" in error.schema_path:  # a key's name is wrong: say so at that key
        pos = smap.locate(where + (instance,), key=True)
        if error.validator == "enum":
            names: Any = error.validator_value
            options = [str(o) for o in names]
            return [Problem(path, pos.line, pos.column, f"{json_path(where)}: unknown key '{instance}'; use one of "
                            f"{', '.join(options)}{suggest(str(instance), options)}")]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        if missing == "value" and isinstance(instance, dict) and "label" in instance:
            return [Problem(path, pos.line, pos.column, f"{json_path(where)}: this option has a label but no 'value' "
                            f"(what is stored when it is chosen); write {{value: {_example_id(instance['label'])}, "
                            f"label: ...}}, or give the option as plain text")]
        return [Problem(path, pos.line, pos.column, f"{json_path(where)}: missing required field '{missing}'")]
    if error.validator == "type":
        return [Problem(path, pos.line, pos.column, f"{json_path(where)}: {_wrong_type(error.validator_value, instance)}")]
    if error.validator == "pattern" and schema.get("pattern") == "^[a-z][a-z0-9_]*$":
        return [Problem(path, pos.line, pos.column,
                        f"{json_path(where)}: '{error.instance}' is not a valid id; use snake_case "
                        "(lowercase letters, digits, underscores, starting with a letter)")]
    if error.validator == "enum":
        values: Any = error.validator_value
        options = [str(o) for o in values]
        if where[-1:] == ("type",) and str(instance).strip().lower() in _NOT_YET:
            return [Problem(path, pos.line, pos.column, f"{json_path(where)}: field type '{instance}' is not supported "
                            f"yet ({_NOT_YET[str(instance).strip().lower()]}); the types are {', '.join(options)}")]
        return [Problem(path, pos.line, pos.column,
                        f"{json_path(where)}: '{error.instance}' is not one of {', '.join(options)}"
                        f"{suggest(str(error.instance), options)}")]
    if error.validator == "propertyNames":
        pos = smap.locate(where + (instance,), key=True)
    return [Problem(path, pos.line, pos.column, f"{json_path(where)}: {error.message}")]


# Field types admins reach for that the forms do not offer (yet), with what to do instead.
_UPLOAD = "attachments are a file field: type: file, with accept: [image/*] for photos"
_NOT_YET = {"upload": _UPLOAD, "attachment": _UPLOAD, "lampiran": _UPLOAD, "image": _UPLOAD, "foto": _UPLOAD, "photo": _UPLOAD,
            "time": "write the time in a text field", "datetime": "use a date field and a text field for the time",
            "radio": "use a select field", "multiselect": "use several checkbox fields"}
_KINDS = {"array": "a list (e.g. [a, b])", "object": "a mapping (key: value lines)", "string": "text",
          "boolean": "true or false", "integer": "a whole number", "number": "a number", "null": "nothing"}
_YAML_WORDS = {"yes", "no", "on", "off", "ya", "tidak", "y", "n"}


def _wrong_type(expected: Any, value: Any) -> str:
    """'expected a list (e.g. [a, b]), not the text 'staf' (write [staf])': the admin's words, and
    the likely fix, for the YAML slips that give a value the wrong type."""
    wanted = [expected] if isinstance(expected, str) else list(expected)
    want = " or ".join(_KINDS.get(str(w), str(w)) for w in wanted)
    if isinstance(value, bool):
        got = f"{str(value).lower()}"
    elif isinstance(value, (int, float)):
        got = f"the number {value}"
    elif isinstance(value, str):
        got = f"the text '{_short(value)[1:-1]}'"
    elif isinstance(value, list):
        got = "a list"
    elif isinstance(value, dict):
        got = "a mapping"
    else:
        got = "an empty value"
    hint = ""
    if "string" in wanted and isinstance(value, (int, float, bool)):
        hint = f"; put it in quotes: '{str(value).lower() if isinstance(value, bool) else value}'"
    elif "boolean" in wanted and isinstance(value, str) and value.strip().lower() in _YAML_WORDS:
        hint = f"; only true and false are booleans ('{value}' stays text)"
    elif "array" in wanted and isinstance(value, str):
        hint = f"; write [{value}]"
    return f"expected {want}, not {got}{hint}"


def _example_id(label: Any) -> str:
    text = label.get("id", "") if isinstance(label, dict) else str(label)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(schema: Mapping[str, Any]) -> str:
    return str(schema.get("description") or "see the schema")
