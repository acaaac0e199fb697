"""Loading SOP definitions: the LAPOR definition, and every broken file in tests/broken/.

Each file in tests/broken/ is MINIMAL below with one defect. Its first line says where the error
must point and what it must say: ``# expect: LINE:COL: SUBSTRING``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
    assert len(BROKEN_FILES) >= 18


@pytest.mark.parametrize("path", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_broken_file_reports_its_problem_where_it_is(path):
    text = path.read_text(encoding="utf-8")
    match = EXPECT_RE.match(text)
    assert match, f"{path.name} must start with '# expect: LINE:COL: SUBSTRING'"
    line, column, fragment = int(match[1]), int(match[2]), match[3]
    sop, problems = check_text(text, str(path))
    assert sop is None
    found = [(p.line, p.column, p.message) for p in problems]
    assert any(p.line == line and p.column == column and fragment in p.message for p in problems), found
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
