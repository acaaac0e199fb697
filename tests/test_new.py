"""`sop new`: a commented starting definition that validates and runs."""

from __future__ import annotations

import pytest

from conftest import REPO
from runner.cli import main
from runner.definition import check_text
from runner.starter import new_definition, template_text


def test_prints_a_definition_that_validates(capsys):
    assert main(["new", "izin_keramaian"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[0] == "# yaml-language-server: $schema=../schemas/sop.schema.json"
    sop, problems = check_text(out, "izin_keramaian.yaml")
    assert problems == [] and sop is not None
    assert sop.id == "izin_keramaian"
    assert "__SOP_ID__" not in out
    # What the brief promises a new admin: two roles (one unit-scoped), one flow with an intake,
    # three activities with a decision and a return for revision, public and identifying fields.
    assert [r.unit_scoped for r in sop.roles] == [False, True]
    (flow,) = sop.flows
    assert flow.intake and any(f.public for f in flow.intake) and any(f.identifies for f in flow.intake)
    assert all(e.public_message for e in flow.ends)
    assert sop.calendar.holiday_country == "ID"
    assert len(sop.activities) == 3 and all(a.time_limit and a.public_status for a in sop.activities)
    assert any(len(a.actions) > 1 for a in sop.activities)
    numbers = {a.id: a.no for a in sop.activities}
    assert any(numbers.get(x.to, 99) < a.no for a in sop.activities for x in a.actions)  # a return


def test_schema_line_matches_the_language_reference():
    docs = (REPO / "docs" / "sop-language.md").read_text(encoding="utf-8")
    assert template_text().splitlines()[0] in docs


def test_written_file_validates_and_simulates_to_an_end(tmp_path, capsys):
    target = tmp_path / "izin_keramaian.yaml"
    assert main(["new", "izin_keramaian", "-o", str(target)]) == 0
    capsys.readouterr()
    assert main(["validate", str(target)]) == 0
    assert capsys.readouterr().out == f"{target}: OK\n"
    assert main(["simulate", str(target), "--start", "2026-12-07T15:00:00+07:00"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("End: selesai ")
    assert main(["simulate", str(target), "--start", "2026-12-07T15:00:00+07:00",
                 "--path", "teruskan,ajukan,kembalikan,ajukan,setujui"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(".")[0] for line in lines[1:-2]] == ["1", "2", "3", "2", "3"]
    assert lines[-2].startswith("End: selesai ")


def test_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "ada.yaml"
    target.write_text("milik orang lain\n", encoding="utf-8")
    assert main(["new", "ada", "-o", str(target)]) == 1
    assert "already exists; not overwritten" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "milik orang lain\n"


@pytest.mark.parametrize("bad", ["Izin", "izin-keramaian", "1izin", "izin keramaian", "_izin", ""])
def test_refuses_an_id_that_is_not_snake_case(tmp_path, capsys, bad):
    target = tmp_path / "x.yaml"
    assert main(["new", bad, "-o", str(target)]) == 1
    assert "is not a valid SOP id: use snake_case" in capsys.readouterr().err
    assert not target.exists()
    with pytest.raises(Exception, match="snake_case"):
        new_definition(bad)
