"""The YAML reader: positions for every value, and the ways it deliberately differs from safe_load."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO
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
    assert problems[0].message.startswith("tags are not allowed (found '!!python/name:os.system')")
    # On a sequence too: refused where the tag stands, nothing is called.
    problems = problems_of("a: !!python/object/apply:os.system ['echo hi']\n")
    assert [(p.line, p.column, p.message[:20]) for p in problems] == [(1, 4, "tags are not allowed")]


@pytest.mark.parametrize("text, positions", [
    ("a: !!str 1\n", [(1, 4)]),
    ("a: !foo x\n", [(1, 4)]),
    ("a: ! x\n", [(1, 4)]),
    ("a: !!seq [1]\nb: !!map {c: 1}\n", [(1, 4), (2, 4)]),
    ("a:\n  - !x\n    k: v\n", [(2, 5)]),
    ("!!map\na: 1\n", [(1, 1)]),
    ("? !!str k\n: v\n", [(1, 3)]),
    ("a: &x !t [1]\nb: *x\n", [(1, 4)]),
    ("a: !<tag:yaml.org,2002:str> x\n", [(1, 4)]),
    ("%TAG !e! tag:example.com,2000:\n---\na: !e!foo x\n", [(3, 4)]),
])
def test_every_tag_is_refused_where_it_stands(text, positions):
    problems = problems_of(text)
    assert [(p.line, p.column) for p in problems] == positions
    assert all(p.message.startswith("tags are not allowed") for p in problems)


# -- characters PyYAML's reader refuses --------------------------------------------------------------
CONTROL = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85),
                            *range(0x86, 0xA0), 0xD800, 0xDFFF, 0xFFFE, 0xFFFF]]


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_a_control_character_is_one_positioned_problem(char):
    problems = problems_of(f"id: x\ntitle: a{char}b\n")
    assert [(p.line, p.column) for p in problems] == [(2, 9)]
    assert f"U+{ord(char):04X}" in problems[0].message
    assert problems[0].message.endswith("is not allowed; delete it (it is invisible in most editors)")


def test_every_control_character_is_reported_and_named():
    problems = problems_of("a: \x0c\nb:\n  - x\x00y\x1b\n\x7f: 1\n")
    assert [(p.line, p.column) for p in problems] == [(1, 4), (3, 6), (3, 8), (4, 1)]
    assert [p.message.split(" is not")[0] for p in problems] == [
        "control character U+000C (form feed)", "control character U+0000 (NUL)",
        "control character U+001B (escape)", "control character U+007F (delete)"]


@pytest.mark.parametrize("text, position", [
    ("a: 1\r\nb: \x0c\r\n", (2, 4)),  # CRLF is one line break
    ("a: 1\rb: \x0c\n", (2, 4)),  # so is a lone CR
    ("a: x\x85b: \x01\n", (2, 4)),  # and NEL, which PyYAML counts as a break too
    ("\ufeffa: \x01\n", (1, 4)),  # a byte order mark takes no column
    ("a: 'é😀'\x02\n", (1, 8)),  # columns count characters, not bytes
])
def test_control_character_positions_count_lines_and_columns_as_pyyaml_does(text, position):
    problems = problems_of(text)
    assert [(p.line, p.column) for p in problems] == [position]


def test_allowed_characters_are_kept():
    data, _ = yamlsource.load('a: "tab\there"\nb: "\\x0c is written as an escape"\nc: é😀\u00a0\n')
    assert data == {"a": "tab\there", "b": "\x0c is written as an escape", "c": "é😀\u00a0"}


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


# -- libyaml's parser and PyYAML's agree ------------------------------------------------------------------
def outcome(text):
    try:
        data, smap = yamlsource.load(text)
    except YamlSyntaxError as exc:
        return "refused", exc.problems
    # The position of an empty document's null root differs; nothing reports it (not a mapping: 1:1).
    return "read", data, {k: v for k, v in smap.values.items() if k or data is not None}, smap.keys


YAML_PIECES = ["a", "b", "k: ", ":", ": ", "- ", "-", "[", "]", "{", "}", ",", " ", "  ", "\n", "\n  ", "\n    ",
               "\n- ", "'", '"', "&x ", "*x", "? ", "|", ">", "#", "!t ", "---\n", "...\n", "%YAML 1.1\n", "\t",
               "1", "é", "\\", "@", "`", "%", "\r\n", "\x85", "\u2028", "~", "null", "true", "<<: ", "="]


@pytest.mark.skipif(yamlsource._FastLoader is None, reason="PyYAML without libyaml: one parser only")
@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=30).map("".join))
def test_libyaml_and_the_python_parser_give_the_same_result(text):
    fast = outcome(text)
    saved, yamlsource._FastLoader = yamlsource._FastLoader, None
    try:
        assert outcome(text) == fast
    finally:
        yamlsource._FastLoader = saved


def test_the_definitions_read_the_same_with_either_parser():
    for path in [*REPO.glob("sop_definitions/*.yaml"), *REPO.glob("docs/**/*.yaml"), *REPO.glob("tests/broken/*.yaml")]:
        text = path.read_text(encoding="utf-8")
        fast = outcome(text)
        saved, yamlsource._FastLoader = yamlsource._FastLoader, None
        try:
            assert outcome(text) == fast, path
        finally:
            yamlsource._FastLoader = saved
