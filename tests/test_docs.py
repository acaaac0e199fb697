"""Documentation that must not fall behind the code: a setting, SOP key or command that exists but is
not documented fails here (the datasette habit)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from runner.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
LANGUAGE = (REPO / "docs" / "sop-language.md").read_text(encoding="utf-8")


def _env_vars_in_code() -> set[str]:
    found = set()
    for path in [*REPO.glob("runner/**/*.py"), *REPO.glob("web/**/*.py"), *REPO.glob("tests/**/*.py"), REPO / "Makefile"]:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"""environ(?:\.get)?\(\s*["']((?:SOP_|SECRET_)[A-Z_]+)""", text))
        found |= set(re.findall(r"""environ\[["']((?:SOP_|SECRET_)[A-Z_]+)""", text))
    return found


def test_every_environment_variable_is_in_the_readme():
    names = _env_vars_in_code()
    assert {"SOP_DATABASE_URL", "SOP_DEFINITIONS", "SECRET_KEY"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in README)
    assert not missing, f"undocumented settings: {missing}"


def _schema_keys(node, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            out.add(key)
            _schema_keys(value, out)
        for value in node.values():
            _schema_keys(value, out)
    elif isinstance(node, list):
        for value in node:
            _schema_keys(value, out)
    return out


def test_every_schema_key_is_in_the_language_reference():
    schema = json.loads((REPO / "schemas" / "sop.schema.json").read_text(encoding="utf-8"))
    keys = _schema_keys(schema, set())
    missing = sorted(k for k in keys if f"`{k}`" not in LANGUAGE)
    assert not missing, f"keys missing from docs/sop-language.md: {missing}"


def test_every_schema_property_has_a_title_or_description():
    schema = json.loads((REPO / "schemas" / "sop.schema.json").read_text(encoding="utf-8"))
    bare = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                if isinstance(value, dict) and not (value.get("description") or value.get("title") or "$ref" in value):
                    bare.append(f"{where}.{key}")
                walk(value, f"{where}.{key}")
            for key, value in node.items():
                if key != "properties":
                    walk(value, where)
        elif isinstance(node, list):
            for value in node:
                walk(value, where)

    walk(schema, "")
    assert not bare, f"schema properties without title/description: {bare}"


def test_every_cli_command_is_in_the_readme():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = [name for name in sub.choices if f"sop {name}" not in README]
    assert not missing, f"commands missing from README: {missing}"
