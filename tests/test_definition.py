"""Loading SOP definitions: the LAPOR definition, and every broken file in tests/broken/.

Each file in tests/broken/ is MINIMAL below with one defect. Its first line says where the error
must point and exactly what it must say: ``# expect: LINE:COL: MESSAGE`` (the whole message, JSON
path included, as `sop validate` prints it after ``error:``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import LAPOR
from runner.definition import check_text, load_file, load_text
from runner.errors import DefinitionError

BROKEN = Path(__file__).resolve().parent / "broken"
EXPECT_RE = re.compile(r"# expect: (\d+):(\d+): (.+)\n")

# The smallest SOP the broken files are made from: an external reporter starts a case, staff
# forward it to a unit, the unit's operator finishes it.
MINIMAL = """\
id: mini
title: SOP Mini
identity:
  agency: Dinas Contoh
  name: SOP Contoh
  number: 001/2026
calendar:
  timezone: Asia/Pontianak
  hours:
    mon: ["07:30-12:00", "13:00-16:00"]
roles:
  - id: pelapor
    name: Pelapor
    external: true
  - id: staf
    name: Staf
  - id: operator_opd
    name: Operator OPD
    unit_scoped: true
flows:
  - id: utama
    name: Alur utama
    start: terima
    started_by: [pelapor]
    ends:
      - id: selesai
        name: Selesai
activities:
  - no: 1
    id: terima
    name: Terima laporan
    performers: [staf]
    time_limit: 1 jam
    fields:
      - id: opd
        type: unit
        label: OPD tujuan
    actions:
      - id: teruskan
        label: Teruskan
        to: tindak
        assign_unit: opd
  - no: 2
    id: tindak
    name: Tindak lanjut
    performers: [operator_opd]
    time_limit: 1 hari
    actions:
      - id: selesaikan
        label: Selesaikan
        to: selesai
"""


def test_minimal_sop_loads_without_problems():
    sop, problems = check_text(MINIMAL, "mini.yaml")
    assert problems == []
    assert sop is not None
    assert [a.id for a in sop.activities] == ["terima", "tindak"]
    assert sop.activity("terima").time_limit.duration.minutes == 60


BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))


def test_there_are_broken_examples():
    assert len(BROKEN_FILES) >= 40


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_broken_file_reports_its_problem_where_it_is(path):
    text = path.read_text(encoding="utf-8")
    match = EXPECT_RE.match(text)
    assert match, f"{path.name} must start with '# expect: LINE:COL: MESSAGE'"
    line, column, message = int(match[1]), int(match[2]), match[3]
    sop, problems = check_text(text, str(path))
    assert sop is None
    found = [(p.line, p.column, p.message) for p in problems]
    assert (line, column, message) in found, found
    assert all(p.severity == "error" for p in problems)  # warnings wait until the errors are fixed
    for p in problems:
        assert p.path == str(path)
        assert p.format().startswith(f"{path}:{p.line}:{p.column}: ")


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_broken_file_is_refused_by_load_text(path):
    with pytest.raises(DefinitionError) as info:
        load_text(path.read_text(encoding="utf-8"), str(path))
    assert info.value.problems
    assert str(path) in str(info.value)


def test_every_broken_file_is_minimal_with_a_defect():
    # The broken files stay small: a handful of lines away from MINIMAL (or a scalar document).
    import difflib

    base = MINIMAL.splitlines()
    for path in BROKEN_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        if len(lines) <= 2:
            continue
        changed = [d for d in difflib.ndiff(base, lines) if d[:2] in ("+ ", "- ")]
        assert 0 < len(changed) <= 20, (path.name, changed)


# -- specific messages ----------------------------------------------------------------------------
def edit(old: str, new: str) -> str:
    assert MINIMAL.count(old) == 1, old
    return MINIMAL.replace(old, new)


def test_did_you_mean_for_a_missing_step():
    _, problems = check_text(edit("to: tindak\n", "to: tindka\n"))
    assert [p.message for p in problems] == [
        "activities[0].actions[0].to: no activity or end 'tindka' (did you mean 'tindak'?)"]


def test_no_suggestion_when_nothing_is_close():
    _, problems = check_text(edit("performers: [staf]", "performers: [bendahara]"))
    assert [p.message for p in problems] == ["activities[0].performers[0]: unknown role 'bendahara'"]


def test_all_problems_are_reported_at_once():
    text = edit("performers: [staf]", "performers: [stafff]").replace("to: tindak\n", "to: tindakk\n")
    sop, problems = check_text(text, "two.yaml")
    assert sop is None
    assert [(p.line, p.column) for p in problems] == [(32, 18), (41, 13)]
    assert "unknown role 'stafff'" in problems[0].message
    assert "no activity or end 'tindakk'" in problems[1].message


def test_all_schema_problems_are_reported_at_once():
    text = edit("    time_limit: 1 jam\n", "    time_limt: 1 jam\n").replace("  number: 001/2026\n", "")
    _, problems = check_text(text)
    messages = sorted(p.message for p in problems)
    assert len(problems) == 2, messages
    assert any("missing required field 'number'" in m for m in messages)
    assert any("unknown field 'time_limt'" in m for m in messages)


def test_problem_format_is_path_line_col_error_message():
    _, problems = check_text(edit("performers: [staf]", "performers: [stafff]"), "sop_definitions/x.yaml")
    assert [p.format() for p in problems] == [
        "sop_definitions/x.yaml:32:18: error: activities[0].performers[0]: unknown role 'stafff' (did you mean 'staf'?)"
    ]


def test_unreached_end_is_a_warning_not_an_error():
    text = edit("      - id: selesai\n        name: Selesai\n",
                "      - id: selesai\n        name: Selesai\n      - id: batal\n        name: Batal\n")
    sop, problems = check_text(text, "w.yaml")
    assert sop is not None
    assert [(p.severity, p.line, p.column) for p in problems] == [("warning", 28, 13)]
    assert problems[0].format() == "w.yaml:28:13: warning: flows[0].ends[1].id: end 'batal' is never reached"


def warnings_of(text: str) -> list[str]:
    sop, problems = check_text(text, "w.yaml")
    assert sop is not None, [p.format() for p in problems]  # warnings never block loading
    assert all(p.severity == "warning" for p in problems)
    load_text(text)  # nor publishing: the app and `sop load` accept them
    return [p.format() for p in problems]


def test_a_step_without_a_time_limit_is_a_warning():
    assert warnings_of(edit("    time_limit: 1 hari\n", "")) == [
        "w.yaml:44:9: warning: activities[1].id: activity 'tindak' has no time_limit"]


def test_a_role_nothing_uses_is_a_warning():
    text = edit("    unit_scoped: true\n", "    unit_scoped: true\n  - id: bendahara\n    name: Bendahara\n")
    assert warnings_of(text) == [
        "w.yaml:20:9: warning: roles[3].id: role 'bendahara' is used by no activity (performers, recipients) "
        "and no flow (started_by)"]


def test_a_role_used_only_as_recipient_or_in_started_by_is_no_warning():
    text = edit("    unit_scoped: true\n", "    unit_scoped: true\n  - id: kadis\n    name: Kadis\n"
                "  - id: admin\n    name: Admin\n").replace(
        "    performers: [operator_opd]\n", "    performers: [operator_opd]\n    recipients: [kadis]\n").replace(
        "    started_by: [pelapor]\n", "    started_by: [pelapor, admin]\n")
    assert warnings_of(text) == []  # pelapor too is only in started_by


def test_a_field_no_action_claims_is_collected_by_every_action_and_no_warning():
    text = edit("        label: OPD tujuan\n", "        label: OPD tujuan\n      - id: catatan\n"
                "        type: textarea\n        label: Catatan\n")
    assert warnings_of(text) == []
    assert load_text(text).activity("terima").actions[0].uses == ("opd", "catatan")


def test_warnings_wait_until_there_are_no_errors():
    text = edit("    time_limit: 1 hari\n", "").replace("performers: [staf]", "performers: [stafff]")
    sop, problems = check_text(text)
    assert sop is None and [p.severity for p in problems] == ["error"]


def test_lapor_the_examples_and_the_new_template_have_no_warnings():
    from runner.starter import new_definition  # what `sop new` prints

    root = Path(__file__).resolve().parent.parent
    paths = [LAPOR, *sorted((root / "docs" / "examples").glob("*.yaml"))]
    for path in paths:
        sop, problems = check_text(path.read_text(encoding="utf-8"), str(path))
        assert sop is not None and problems == [], [p.format() for p in problems]
    sop, problems = check_text(new_definition("contoh"), "new.yaml")
    assert sop is not None and problems == [], [p.format() for p in problems]


def test_version_is_the_hash_of_the_text():
    a = load_text(MINIMAL)
    b = load_text(MINIMAL + "# a comment changes the version\n")
    assert a.version != b.version and len(a.version) == 64
    assert load_text(MINIMAL).version == a.version


def test_load_file_reports_unreadable_files(tmp_path):
    with pytest.raises(DefinitionError) as info:
        load_file(tmp_path / "missing.yaml")
    assert "cannot read file" in str(info.value)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: Dinas Pekerjaan Umum \xe9\n".encode("latin-1"))
    with pytest.raises(DefinitionError) as info:
        load_file(bad)
    assert "not UTF-8" in str(info.value)


# -- hostile files: control characters, tags, size, thousands of problems ---------------------------
LAPOR_TEXT = LAPOR.read_text(encoding="utf-8")
CONTROL = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85),
                            *range(0x86, 0xA0), 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xFFFE, 0xFFFF]]


def line_and_column(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def test_the_lapor_file_breaks_lines_with_newlines_only():
    # line_and_column above counts "\n" only; PyYAML also breaks at "\r", "\x85", "\u2028", "\u2029".
    assert not any(c in LAPOR_TEXT for c in "\r\x85\u2028\u2029\ufeff")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CONTROL), st.integers(0, len(LAPOR_TEXT)))
def test_a_control_character_anywhere_in_lapor_is_one_problem_at_its_place(char, index):
    text = LAPOR_TEXT[:index] + char + LAPOR_TEXT[index:]
    sop, problems = check_text(text, "lapor.yaml")  # never an exception
    assert sop is None
    assert [(p.line, p.column) for p in problems] == [line_and_column(text, index)]
    assert f"U+{ord(char):04X}" in problems[0].message and "is not allowed" in problems[0].message
    assert problems[0].format().startswith(f"lapor.yaml:{problems[0].line}:{problems[0].column}: error: ")


VALUE_LINES = [i for i, line in enumerate(LAPOR_TEXT.splitlines(keepends=True))
               if re.match(r"\s*(- )?[a-z_]+: [^\s!&*|>'\"#]", line)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALUE_LINES), st.sampled_from(["!!str", "!!python/object/apply:os.system", "!foo", "!"]))
def test_a_tag_on_any_value_of_lapor_is_refused_where_it_stands(line_no, tag):
    lines = LAPOR_TEXT.splitlines(keepends=True)
    key_end = lines[line_no].index(": ") + 2
    lines[line_no] = lines[line_no][:key_end] + tag + " " + lines[line_no][key_end:]
    sop, problems = check_text("".join(lines), "lapor.yaml")
    assert sop is None
    assert [(p.line, p.column) for p in problems] == [(line_no + 1, key_end + 1)]
    assert problems[0].message.startswith("tags are not allowed")


def unknown_keys(n: int) -> str:
    return MINIMAL + "".join(f"extra_{i}: x\n" for i in range(n))


def test_problems_are_capped_with_a_count_of_the_rest():
    sop, problems = check_text(unknown_keys(150), "many.yaml")
    assert sop is None
    assert len(problems) == 101
    assert [p.line for p in problems[:100]] == list(range(52, 152))  # MINIMAL has 51 lines
    assert problems[-1].format() == "many.yaml: … and 50 more problems"
    _, problems = check_text(unknown_keys(100), "many.yaml")
    assert len(problems) == 100 and problems[-1].line == 151


def test_the_cap_reaches_load_file_and_its_error(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(unknown_keys(250), encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_file(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 101 and lines[-1] == f"{path}: … and 150 more problems"


def test_thousands_of_unknown_keys_spend_suggestions_only_on_the_problems_shown(monkeypatch):
    from runner.definition import schema_check

    calls = []
    real = schema_check.suggest
    monkeypatch.setattr(schema_check, "suggest", lambda *a: calls.append(a) or real(*a))
    _, problems = check_text(unknown_keys(5000), "many.yaml")
    assert problems[-1].message == "… and 4900 more problems"
    assert len(calls) <= 100


def test_a_version_published_with_a_tag_still_runs_its_cases():
    # Tags were read before they were refused; a stored version is trusted history, never re-judged.
    from runner.definition.stored import load_stored

    text = edit("  number: 001/2026\n", "  number: !!str 001/2026\n").replace("roles:\n", "roles: !!seq\n")
    assert check_text(text)[1][0].message.startswith("tags are not allowed")
    sop = load_stored(text)
    assert sop.identity.number == "001/2026" and [r.id for r in sop.roles] == ["pelapor", "staf", "operator_opd"]


def test_the_schema_check_stops_after_its_budget_of_errors(monkeypatch):
    from runner.definition import schema_check

    monkeypatch.setattr(schema_check, "MAX_ERRORS", 150)
    text = edit("roles:\n", "roles:\n" + "".join(f"  - {{id: r{i}, nme: R}}\n" for i in range(400)))
    _, problems = check_text(text, "roles.yaml")
    assert len(problems) == 101
    assert problems[0].format() == "roles.yaml:12:5: error: roles[0]: missing required field 'name'"
    assert problems[-1].format() == "roles.yaml: … and at least 51 more problems (the check stopped early)"


def test_a_file_of_control_characters_is_answered_at_once():
    _, problems = check_text("\x00" * 900_000, "nul.yaml")
    assert len(problems) == 101
    assert [(p.line, p.column) for p in problems[:3]] == [(1, 1), (1, 2), (1, 3)]
    assert problems[-1].format() == "nul.yaml: … and 899900 more problems"


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from runner import yamlsource

    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:  # sparse: 4 GB long, no disk used
        f.truncate(4 * 1024**3)
    with pytest.raises(DefinitionError) as info:
        load_file(path)
    assert info.value.problems[0].format() == (
        f"{path}:1:1: error: file is larger than {yamlsource.MAX_BYTES} bytes ({4 * 1024**3} bytes)")
    # A file whose size says nothing (a device) is read only up to the limit.
    if Path("/dev/zero").exists():
        with pytest.raises(DefinitionError) as info:
            load_file("/dev/zero")
        assert "larger than" in str(info.value)
    # Just at the limit it is read (and then judged as YAML).
    monkeypatch.setattr(yamlsource, "MAX_BYTES", len(MINIMAL.encode()))
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_file(path).id == "mini"
    path.write_text(MINIMAL + "#", encoding="utf-8")
    with pytest.raises(DefinitionError, match="larger than"):
        load_file(path)


def test_a_directory_scan_treats_a_repeated_id_as_a_broken_file(tmp_path):
    from runner.errors import ConfigurationError
    from runner.registry import Registry, scan_directory

    (tmp_path / "a.yaml").write_text(LAPOR_TEXT, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(LAPOR_TEXT, encoding="utf-8")
    (tmp_path / "c.yaml").write_text(LAPOR_TEXT.replace("id: laporisp4n", "id: laporisp4n\x0c"), encoding="utf-8")
    with (tmp_path / "d.yml").open("wb") as f:
        f.truncate(2 * 1024**3)
    (tmp_path / "e.yaml").write_text(LAPOR_TEXT.replace("performers: [kadis]", "performers: [kadiss]"),
                                     encoding="utf-8")
    scan = scan_directory(tmp_path)
    assert [s.source_path for s in scan.sops] == [str(tmp_path / "a.yaml")]
    assert scan.broken == [(str(tmp_path / n), i) for n, i in
                           [("b.yaml", None), ("c.yaml", None), ("d.yml", None), ("e.yaml", "laporisp4n")]]
    line = next(i for i, ln in enumerate(LAPOR_TEXT.splitlines(), 1) if ln == "id: laporisp4n")
    messages = [p.format() for p in scan.problems]
    assert messages[:3] == [
        f"{tmp_path / 'b.yaml'}:{line}:5: error: id 'laporisp4n' is already used by a.yaml; "
        "give this definition an id of its own",
        f"{tmp_path / 'c.yaml'}:{line}:15: error: control character U+000C (form feed) is not allowed; "
        "delete it (it is invisible in most editors)",
        f"{tmp_path / 'd.yml'}:1:1: error: file is larger than 1000000 bytes ({2 * 1024**3} bytes)",
    ]
    assert Registry(scan.sops, scan.sources).get("laporisp4n").source_path == str(tmp_path / "a.yaml")
    with pytest.raises(ConfigurationError, match="two definitions share the id 'laporisp4n'"):
        Registry([scan.sops[0], scan.sops[0]])  # still guarded: a programming error


def test_a_directory_is_not_a_definition(tmp_path):
    with pytest.raises(DefinitionError, match="cannot read file: Is a directory"):
        load_file(tmp_path)


# -- the LAPOR definition -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def lapor():
    return load_file(LAPOR)


def test_lapor_loads_without_problems():
    sop, problems = check_text(LAPOR.read_text(encoding="utf-8"), str(LAPOR))
    assert problems == []
    assert sop.id == "laporisp4n"


def test_lapor_has_eleven_activities_numbered_in_order(lapor):
    assert [a.no for a in lapor.activities] == list(range(1, 12))


def test_lapor_has_eight_roles(lapor):
    assert [r.id for r in lapor.roles] == [
        "pelapor", "kadis", "kabid", "kasi", "admin_utama", "operator_opd", "pejabat_penghubung", "kadis_opd"]
    assert [r.id for r in lapor.roles if r.external] == ["pelapor"]
    assert {r.id for r in lapor.roles if r.unit_scoped} == {"operator_opd", "pejabat_penghubung", "kadis_opd"}


def test_lapor_monthly_flow(lapor):
    monthly = [a.no for a in lapor.activities if a.flow == "rekap_bulanan"]
    assert monthly == [10, 11]
    assert [a.no for a in lapor.activities if a.flow == "pengaduan"] == list(range(1, 10))
    flow = lapor.flow("rekap_bulanan")
    assert flow.schedule == "monthly" and flow.start == "rekap_laporan"
    assert [f.id for f in lapor.scheduled_flows] == ["rekap_bulanan"]
    assert [f.id for f in lapor.case_flows] == ["pengaduan"]


def test_lapor_disposition_has_two_branches(lapor):
    activity = next(a for a in lapor.activities if a.no == 4)
    assert [a.id for a in activity.actions] == ["teruskan", "tidak_teruskan"]
    teruskan, tidak = activity.actions
    assert teruskan.assign_unit == "opd_tujuan" and teruskan.to == "terima_disposisi"
    assert tidak.assign_unit is None and tidak.to == "tidak_diteruskan"
    assert tidak.requires == ("alasan_tidak_diteruskan",)
    assert activity.time_limit.advisory is True


def test_lapor_texts_have_translations(lapor):
    action = lapor.activity("disposisi_pimpinan").action("teruskan")
    assert action.label.get() == "Teruskan"
    assert action.label.get("en") == "Forward"
    assert action.label.get("id_ID") == "Teruskan"
    assert action.label.get("fr") == "Teruskan"


def test_lapor_public_fields_exclude_the_reporters_identity(lapor):
    public = {f.id for f in lapor.public_fields()}
    assert public == {"judul", "alasan_tidak_valid", "alasan_tidak_diteruskan", "jawaban_akhir"}
