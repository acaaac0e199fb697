"""The YAML reader: positions for every value, and the ways it deliberately differs from safe_load."""

from __future__ import annotations

import pytest
import yaml

from runner import yamlsource
from runner.yamlsource import Position, YamlSyntaxError


def problems_of(text: str):
    with pytest.raises(YamlSyntaxError) as info:
        yamlsource.load(text)
    return info.value.problems


# -- positions -------------------------------------------------------------------------------------
DOC = """\
id: contoh
roles:
  - id: kadis
    name: Kadis
  - {id: kabid, name: Kabid}
activities:
  - no: 1
    performers: [kadis, kabid]
"""


def test_values_and_keys_have_one_based_line_and_column():
    data, smap = yamlsource.load(DOC)
    assert data["roles"][1] == {"id": "kabid", "name": "Kabid"}
    assert smap.values[("id",)] == Position(1, 5)
    assert smap.keys[("id",)] == Position(1, 1)
    assert smap.keys[("roles", 0, "name")] == Position(4, 5)
    assert smap.values[("roles", 0, "name")] == Position(4, 11)
    # flow-style mapping inside a block sequence
    assert smap.values[("roles", 1)] == Position(5, 5)
    assert smap.values[("roles", 1, "name")] == Position(5, 23)
    # items of a flow sequence
    assert smap.values[("activities", 0, "performers", 0)] == Position(8, 18)
    assert smap.values[("activities", 0, "performers", 1)] == Position(8, 25)


def test_every_position_points_at_the_text_it_names():
    data, smap = yamlsource.load(DOC)
    lines = DOC.splitlines()
    for path, pos in smap.values.items():
        value = data
        for part in path:
            value = value[part]
        if isinstance(value, str):
            assert lines[pos.line - 1][pos.column - 1:].startswith(value), path
    for path, pos in smap.keys.items():
        assert lines[pos.line - 1][pos.column - 1:].startswith(path[-1]), path


def test_locate_falls_back_to_the_nearest_ancestor():
    _, smap = yamlsource.load(DOC)
    # a missing key of roles[0] is reported where roles[0] starts
    assert smap.locate(("roles", 0, "description")) == Position(3, 5)
    assert smap.locate(("roles", 0, "name"), key=True) == Position(4, 5)
    assert smap.locate(("nothing", "here")) == Position(1, 1)


def test_empty_document_is_none():
    data, smap = yamlsource.load("")
    assert data is None
    assert smap.locate(("x",)) == Position(1, 1)


# -- deliberate differences from safe_load ------------------------------------------------------------
def test_duplicate_key_is_an_error_naming_both_lines():
    problems = problems_of("id: a\ntitle: T\nid: b\n")
    assert len(problems) == 1
    p = problems[0]
    assert (p.line, p.column) == (3, 1)
    assert "duplicate key 'id'" in p.message
    assert "line 1" in p.message


def test_duplicate_key_in_a_nested_flow_mapping():
    problems = problems_of("roles:\n  - {id: a, name: A, id: b}\n")
    assert [(p.line, p.column) for p in problems] == [(2, 22)]
    assert "duplicate key 'id' (first defined on line 2)" in problems[0].message


def test_every_duplicate_is_reported_not_only_the_first():
    problems = problems_of("a: 1\nb: 2\na: 3\nb: 4\n")
    assert [(p.line, "'a'" in p.message) for p in problems] == [(3, True), (4, False)]


@pytest.mark.parametrize("text, line", [
    ("a:\n\tb: 1\n", 2),
    ("a: 1\n\tb: 2\n", 2),
    ("a:\n  b: 1\n\t c: 2\n", 3),
])
def test_tab_indentation_is_an_error_with_a_plain_message(text, line):
    problems = problems_of(text)
    assert [(p.line, p.column) for p in problems] == [(line, 1)]
    assert problems[0].message == "tab characters are not allowed for indentation; use spaces"


def test_tab_inside_a_value_is_fine():
    data, _ = yamlsource.load('a: "x\ty"\n')
    assert data == {"a": "x\ty"}


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "NO", "y", "n", "ya", "tidak"])
def test_yes_no_on_off_stay_strings(word):
    data, _ = yamlsource.load(f"value: {word}\nlist: [{word}]\n")
    assert data == {"value": word, "list": [word]}


def test_only_true_and_false_are_booleans():
    data, _ = yamlsource.load("a: true\nb: False\nc: TRUE\nd: 'true'\n")
    assert data == {"a": True, "b": False, "c": True, "d": "true"}


def test_safe_load_itself_is_not_changed():
    # The custom resolvers must not leak into PyYAML's own SafeLoader.
    assert yaml.safe_load("a: yes") == {"a": True}


@pytest.mark.parametrize("text", ["2018-04-25", "2018-04-25 10:00:00", "2018-04-25T10:00:00+07:00"])
def test_dates_and_timestamps_stay_strings(text):
    data, _ = yamlsource.load(f"created: {text}\n")
    assert data == {"created": text}


def test_numbers_and_nulls_are_still_typed():
    data, _ = yamlsource.load("no: 3\nx: 1.5\nk: null\nl: ~\ntime: 7,5 jam\n")
    assert data == {"no": 3, "x": 1.5, "k": None, "l": None, "time": "7,5 jam"}


def test_alias_bomb_is_refused():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":  # 9**9 strings once expanded
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    problems = problems_of("\n".join(lines) + "\n")
    assert len(problems) == 1
    assert "alias bomb" in problems[0].message


def test_small_aliases_still_work():
    data, smap = yamlsource.load("base: &b [x, y]\ncopy: *b\n")
    assert data == {"base": ["x", "y"], "copy": ["x", "y"]}
    assert smap.keys[("copy",)] == Position(2, 1)


@pytest.mark.parametrize("text, line, column", [
    ("? [a, b]\n: 1\n", 1, 3),
    ("? {a: 1}\n: 1\n", 1, 3),
    ("top:\n  ? [x]\n  : 1\n  ok: 2\n", 2, 5),
])
def test_non_scalar_mapping_keys_are_refused(text, line, column):
    problems = problems_of(text)
    assert [(p.line, p.column) for p in problems] == [(line, column)]
    assert problems[0].message == "mapping keys must be plain text"


def test_scalar_keys_are_kept_as_text():
    data, _ = yamlsource.load("1: a\ntrue: b\nnull: c\n")
    assert data == {"1": "a", "true": "b", "null": "c"}


def test_python_tags_are_never_constructed():
    problems = problems_of("a: 1\nb: !!python/name:os.system\n")
    assert [(p.line, p.column) for p in problems] == [(2, 4)]
    assert problems[0].message.startswith("cannot read value")
    # On a sequence the tag is ignored: plain data comes back, nothing is called.
    data, _ = yamlsource.load("a: !!python/object/apply:os.system ['echo hi']\n")
    assert data == {"a": ["echo hi"]}


def test_syntax_error_points_at_the_problem():
    problems = problems_of("a: [1, 2\nb: 3\n")
    assert len(problems) == 1
    assert problems[0].line == 2
    assert "expected ',' or ']'" in problems[0].message


def test_oversized_document_is_refused():
    problems = problems_of("a: " + "x" * (yamlsource.MAX_BYTES + 1) + "\n")
    assert "larger than" in problems[0].message


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a [*a, *a, *a]\n"])
def test_recursive_alias_is_refused(text):
    problems = problems_of(text)
    assert any("an alias that contains itself" in p.message for p in problems)


def test_deep_nesting_is_refused_without_crashing():
    assert any("nested" in p.message for p in problems_of("a: " + "[" * 3000 + "]" * 3000 + "\n"))
    assert any("nested" in p.message for p in problems_of("a: " + "[" * 100 + "]" * 100 + "\n"))
    data, _ = yamlsource.load("a: " + "[" * 20 + "]" * 20 + "\n")
    assert data is not None
