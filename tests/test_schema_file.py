"""The shipped JSON Schema is itself valid: checked here once, not on every `sop validate` run."""

import json
from pathlib import Path

import jsonschema

from runner.definition.schema_check import SCHEMA

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_the_top_level_schema_is_the_shipped_one():
    assert (ROOT / "schemas" / "sop.schema.json").read_text(encoding="utf-8") == SCHEMA.read_text(encoding="utf-8")
