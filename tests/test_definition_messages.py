"""The admin's typical slips, made at random places of the real definitions, are each reported once,
at the line and column of the slip, in the admin's words (tests/broken/ pins one example of each)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEFINITIONS
from runner.definition import check_text

TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(DEFINITIONS).glob("*.yaml"))}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lines_matching(pattern: str) -> list[tuple[str, int]]:
    return [(name, i) for name, text in TEXTS.items() for i, line in enumerate(text.split("\n"))
            if re.match(pattern, line)]


@SETTINGS
@given(st.sampled_from(lines_matching(r"    (mon|tue|wed|thu|fri|sat|sun): ")),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9))
def test_a_misspelt_weekday_is_reported_at_its_own_key(where, typo):
    name, index = where
    if typo in WEEKDAYS:
        return
    lines = TEXTS[name].split("\n")
    lines[index] = re.sub(r"^    [a-z]+:", f"    {typo}:", lines[index])
    if sum(1 for ln in lines if ln.startswith(f"    {typo}:")) > 1:
        return  # the typo repeats another key: a duplicate key, reported as such
    sop, problems = check_text("\n".join(lines), name)
    assert sop is None
    assert [(p.line, p.column) for p in problems] == [(index + 1, 5)], [p.format() for p in problems]
    assert problems[0].message.startswith(f"calendar.hours: unknown key '{typo}'; use one of mon, tue")


OPTION = r"          - \{value: [a-z0-9_]+, label: "


@SETTINGS
@given(st.sampled_from(lines_matching(OPTION)))
def test_an_option_without_its_value_is_reported_at_the_option(where):
    name, index = where
    lines = TEXTS[name].split("\n")
    lines[index] = re.sub(r"\{value: [a-z0-9_]+, ", "{", lines[index])
    sop, problems = check_text("\n".join(lines), name)
    assert sop is None
    assert [(p.line, p.column) for p in problems] == [(index + 1, 13)], [p.format() for p in problems]
    assert "this option has a label but no 'value'" in problems[0].message


@SETTINGS
@given(st.sampled_from(lines_matching(r"\s+(required|public|identifies|external|unit_scoped|sees_identity): true")),
       st.sampled_from(["yes", "ya", "on", "Yes"]))
def test_yes_for_true_is_explained_where_it_stands(where, word):
    name, index = where
    lines = TEXTS[name].split("\n")
    column = lines[index].index("true") + 1
    lines[index] = lines[index].replace("true", word, 1)
    sop, problems = check_text("\n".join(lines), name)
    assert sop is None
    assert [(p.line, p.column) for p in problems] == [(index + 1, column)], [p.format() for p in problems]
    assert problems[0].message.endswith(f"expected true or false, not the text '{word}'; only true and false "
                                        f"are booleans ('{word}' stays text)")
