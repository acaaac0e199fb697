"""`sop diagram` and runner.diagram: state diagrams drawn by transitions' GraphMachine."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from sqlalchemy import select
from transitions.extensions import GraphMachine

from conftest import DEFINITIONS, LAPOR
from runner import diagram as diagram_module
from runner.cli import main
from runner.definition import check_text, load_file
from runner.diagram import diagram, states_of
from runner.errors import InvalidInput
from runner.store import Case, make_engine, session_factory, transaction

SOP = load_file(LAPOR)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def bilingual(label) -> str:
    return " / ".join([label.id, *(t for _, t in label.translations if t != label.id)])


# -- the LAPOR definition -----------------------------------------------------------------------------
def test_mermaid_shows_every_activity_action_and_flow(capsys):
    code, out, err = run(capsys, "diagram", str(LAPOR), "--format", "mermaid")
    assert (code, err) == (0, "")
    assert out.startswith('---\ntitle: "SOP Pengelolaan LAPORISP4N / LAPORISP4N Management SOP"\n---\nstateDiagram-v2\n')
    for a in SOP.activities:  # names are bilingual like labels: "1. Input laporan … / 1. Input public reports …"
        assert f'state "{a.no}. {bilingual(a.name)}" as {a.id}\n' in out
        for x in a.actions:
            assert f"  {a.id} --> {x.to}: {bilingual(x.label)}\n" in out
    assert "  disposisi_pimpinan --> terima_disposisi: Teruskan / Forward\n" in out
    for f in SOP.flows:  # one start arrow per flow, one final marker per end
        assert f"  [*] --> {f.start}: {bilingual(f.name)}" in out
        for e in f.ends:
            assert f'state "{bilingual(e.name)}" as {e.id}\n' in out
            assert f"  {e.id} --> [*]\n" in out
    assert "  [*] --> rekap_laporan: Rekap dan arsip bulanan / Monthly recap and archive (monthly)\n" in out
    assert not re.search(r"Class \w+ s_active", out)  # no --case: nothing highlighted
    assert len(re.findall(r"^\s*state ", out, re.M)) == len(states_of(SOP)) == 15


def test_dot_shows_every_activity_action_and_flow(capsys):
    code, out, err = run(capsys, "diagram", str(LAPOR), "--format", "dot")
    assert (code, err) == (0, "")
    assert out.startswith('digraph "SOP Pengelolaan LAPORISP4N / LAPORISP4N Management SOP" {')
    for a in SOP.activities:
        assert f'\t{a.id} [label="{a.no}. {bilingual(a.name)}\\l"]\n' in out
        for x in a.actions:
            assert f'\t{a.id} -> {x.to} [label="{bilingual(x.label)}"]\n' in out
    for f in SOP.flows:
        assert f'\t__start__{f.id} -> {f.start} [label="{bilingual(f.name)}' in out
        for e in f.ends:
            assert f"\t{e.id} -> __end__{f.id}\n" in out
    assert "darksalmon" not in out.split("\n", 3)[3]  # the default styles aside, nothing is highlighted
    _check_dot_syntax(out)


def test_output_file(capsys, tmp_path):
    target = tmp_path / "lapor.mmd"
    code, out, err = run(capsys, "diagram", str(LAPOR), "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text(encoding="utf-8") == diagram(SOP)


def test_locale_shows_one_language():
    out = diagram(SOP, locale="en")
    assert "disposisi_pimpinan --> terima_disposisi: Forward\n" in out
    assert "Teruskan / Forward" not in out
    assert out.startswith('---\ntitle: "LAPORISP4N Management SOP"\n')  # names too, in English only
    assert 'state "4. Leadership\'s disposition to forward the report to the OPD operator or not" as disposisi_pimpinan' in out
    assert "  [*] --> rekap_laporan: Monthly recap and archive (monthly)\n" in out
    assert 'state "Finished, the answer was sent to the reporter" as selesai\n' in out
    assert "Penanganan laporan masyarakat" not in diagram(SOP, locale="en")


def test_locale_falls_back_to_indonesian_for_plain_names():
    sop, _ = check_text(LAPOR.read_text(encoding="utf-8").replace(
        "      id: Penanganan laporan masyarakat\n      en: Handling public reports\n", "      id: Penanganan laporan masyarakat\n"))
    assert sop is not None
    out = diagram(sop, locale="en")
    assert "  [*] --> input_laporan: Penanganan laporan masyarakat\n" in out
    assert "  [*] --> input_laporan: Penanganan laporan masyarakat\n" in diagram(sop)  # no " / " without a translation


def test_the_library_defaults_are_left_alone():
    diagram(SOP)
    assert GraphMachine.machine_attributes["rankdir"] == "LR"


def test_unknown_state_or_format():
    with pytest.raises(InvalidInput, match="not a state of laporisp4n"):
        diagram(SOP, current="tidak_ada")
    with pytest.raises(InvalidInput, match="unknown diagram format"):
        diagram(SOP, fmt="png")


def test_dot_without_the_graphviz_package(capsys, monkeypatch):
    monkeypatch.setattr(diagram_module, "graphviz_available", lambda: False)
    code, out, err = run(capsys, "diagram", str(LAPOR), "--format", "dot")
    assert (code, out) == (1, "")
    assert "graphviz" in err and "pip install graphviz" in err and "--format mermaid" in err


def test_broken_definition(capsys, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(LAPOR.read_text(encoding="utf-8").replace("to: verifikasi_laporan", "to: nowhere"),
                    encoding="utf-8")
    code, out, err = run(capsys, "diagram", str(path))
    assert (code, out) == (1, "")
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: error: .*nowhere", err, re.M)


# -- --case -------------------------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path, capsys):
    """A demo database: `sop demo` opens last month's recap case (state rekap_laporan)."""
    url = f"sqlite:///{tmp_path / 'diagram.db'}"
    assert main(["demo", "--database", url, "--definitions", str(DEFINITIONS)]) == 0
    capsys.readouterr()
    return url


def _case_id(url: str, state: str) -> int:
    engine = make_engine(url)
    try:
        with transaction(session_factory(engine)) as s:
            case_id = s.scalar(select(Case.id).where(Case.state == state))
    finally:
        engine.dispose()
    assert case_id is not None
    return case_id


def test_case_highlights_its_state(capsys, db):
    case_id = _case_id(db, "rekap_laporan")
    code, out, err = run(capsys, "diagram", str(LAPOR), "--case", str(case_id), "--database", db)
    assert (code, err) == (0, "")
    assert re.findall(r"Class (\w+) s_active", out) == ["rekap_laporan"]
    code, out, err = run(capsys, "diagram", str(LAPOR), "--format", "dot", "--case", str(case_id), "--database", db)
    assert code == 0
    highlighted = [line for line in out.splitlines() if "darksalmon" in line and "label=" in line]
    assert len(highlighted) == 1 and highlighted[0].startswith("\trekap_laporan [label=")


def test_wrong_case_id(capsys, db):
    code, out, err = run(capsys, "diagram", str(LAPOR), "--case", "999", "--database", db)
    assert (code, out, err) == (1, "", "error: no case 999\n")


def test_case_of_another_sop(capsys, db, tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    code, out, err = run(capsys, "diagram", str(path), "--case", str(_case_id(db, "rekap_laporan")), "--database", db)
    assert (code, out) == (1, "")
    assert "runs SOP 'laporisp4n', not 'mini'" in err


def test_case_on_another_version(capsys, db, tmp_path):
    path = tmp_path / "laporisp4n.yaml"  # a revision that renamed the state the case is in
    path.write_text(LAPOR.read_text(encoding="utf-8").replace("rekap_laporan", "rekap_bulan_ini"), encoding="utf-8")
    case_id = _case_id(db, "rekap_laporan")
    code, out, err = run(capsys, "diagram", str(path), "--case", str(case_id), "--database", db)
    assert (code, out) == (1, "")
    assert f"case {case_id} is in state 'rekap_laporan'" in err and "another version of laporisp4n" in err


def test_database_without_tables(capsys, tmp_path):
    code, out, err = run(capsys, "diagram", str(LAPOR), "--case", "1", "--database", f"sqlite:///{tmp_path / 'empty.db'}")
    assert (code, out) == (1, "")
    assert err.startswith("error: the database refused the command") and "sop db upgrade" in err


# -- labels that mean something to Mermaid or DOT -----------------------------------------------------
TRICKY = r'''id: mini
title: "SOP \"Mini\": [uji] # %% {x}"
identity: {agency: Dinas Contoh, name: SOP Contoh, number: 001/2026}
calendar:
  timezone: Asia/Pontianak
  hours: {mon: ["07:30-12:00"]}
roles:
  - {id: pelapor, name: Pelapor, external: true}
  - {id: staf, name: Staf}
flows:
  - id: utama
    name: "Alur \"utama\" [1]: a; b"
    start: terima
    started_by: [pelapor]
    ends:
      - {id: selesai, name: "Selesai [*] --> x; \"ok\""}
      - {id: ditolak, name: "<b>Ditolak</b>"}
activities:
  - no: 1
    id: terima
    name: "Terima \"laporan\" [baru] {x}: a; b # c %% d <<fork>> \\ e\nbaris dua direction LR"
    performers: [staf]
    time_limit: 1 jam
    actions:
      - id: teruskan
        label: {id: "Teruskan \"cepat\" [1]: ya; #1; %% {z}", en: "Forward \"now\"\nnext line \\"}
        to: tindak
      - {id: tolak, label: "<b>", to: ditolak}
  - no: 2
    id: tindak
    name: "Tindak [[choice]] lanjut"
    performers: [staf]
    time_limit: 1 jam
    actions:
      - {id: selesaikan, label: "Selesaikan: 100% \\n", to: selesai}
      - {id: kembali, label: "Kembalikan ]", to: terima}
'''


@pytest.fixture(scope="module")
def tricky():
    sop, problems = check_text(TRICKY, "mini.yaml")
    assert problems == [] and sop is not None
    return sop


# What Mermaid's stateDiagram grammar accepts on each line that carries a label (see runner/diagram.py).
MERMAID_STATE = re.compile(r'^  state "(?P<label>[^"\n]*)" as (?P<id>[a-z][a-z0-9_]*)$')
MERMAID_EDGE = re.compile(r"^  (?P<src>[a-z][a-z0-9_]*|\[\*\]) --> (?P<dst>[a-z][a-z0-9_]*|\[\*\])(?:: (?P<label>[^:;\n]+))?$")


def test_mermaid_labels_cannot_break_the_diagram(tricky):
    out = diagram(tricky, current="tindak")
    lines = out.splitlines()
    assert lines[:3] == ["---", 'title: "SOP \\"Mini\\": [uji] # %% {x}"', "---"]  # YAML front matter
    states = {m["id"]: m["label"] for m in map(MERMAID_STATE.match, lines) if m}
    edges = [(m["src"], m["dst"], m["label"]) for m in map(MERMAID_EDGE.match, lines) if m]
    assert set(states) == {"terima", "tindak", "selesai", "ditolak"}
    assert len(edges) == 4 + 1 + 2  # the actions, the flow's start, the two ends
    for line in lines[4:]:  # every other line is a statement the library wrote
        assert (MERMAID_STATE.match(line) or MERMAID_EDGE.match(line)
                or re.match(r"^  (direction TB|classDef s_\w+ [\w:,]+|Class [a-z0-9_]+ s_\w+|)$", line)), line
    for label in [*states.values(), *(e[2] for e in edges if e[2])]:
        assert not re.search(r"<|>|\[\[(fork|join|choice)\]\]|direction\s+(TB|BT|RL|LR)|#\w+;", label, re.I), label
    # The text survives, with look-alikes for the characters that had a meaning.
    assert states["terima"] == ("1. Terima \u201claporan\u201d [baru] {x}: a\u037e b # c %% d \u02c2\u02c2fork\u02c3\u02c3 "
                                "\\ e baris dua direction\u2060 LR")
    assert states["tindak"] == "2. Tindak [[\u2060choice]] lanjut"
    assert states["ditolak"] == "\u02c2b\u02c3Ditolak\u02c2/b\u02c3"
    assert ("terima", "tindak", "Teruskan \u201ccepat\u201d [1]\u2236 ya\u037e #1\u037e %% {z} / "
            "Forward \u201cnow\u201d next line \\") in edges
    assert ("tindak", "terima", "Kembalikan ]") in edges
    assert ("[*]", "terima", "Alur \u201cutama\u201d [1]\u2236 a\u037e b") in edges
    assert re.findall(r"Class (\w+) s_active", out) == ["tindak"]


# A DOT statement: IDs and double-quoted strings (with backslash escapes), `=`, `[`, `]`, `->`, `{`, `}`.
DOT_TOKEN = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?|->|[\[\]{}=;,])', re.S)


def _check_dot_syntax(source: str) -> None:
    pos, depth = 0, 0
    while pos < len(source.rstrip()):
        m = DOT_TOKEN.match(source, pos)
        assert m, f"not DOT at {source[pos:pos + 60]!r}"
        depth += {"{": 1, "}": -1}.get(m.group().strip(), 0)
        pos = m.end()
    assert depth == 0
    if shutil.which("dot"):  # Debian's graphviz, when present, has the last word
        subprocess.run(["dot", "-Tsvg", "-o", "/dev/null"], input=source, text=True, check=True)


def test_dot_labels_cannot_break_the_diagram(tricky):
    out = diagram(tricky, fmt="dot", current="tindak")
    _check_dot_syntax(out)
    assert 'terima [label="1. Terima \\"laporan\\" [baru] {x}: a; b # c %% d <<fork>> \\\\ e baris dua direction LR\\l"]' in out
    assert 'terima -> tindak [label="Teruskan \\"cepat\\" [1]: ya; #1; %% {z} / Forward \\"now\\" next line \\\\"]' in out
    assert 'terima -> ditolak [label=" <b>"]' in out  # not an HTML-like <b> label
    assert 'tindak -> selesai [label="Selesaikan: 100% \\\\n"]' in out  # a backslash and an n, not a line break
    assert 'ditolak [label=" <b>Ditolak</b>\\l"]' not in out and 'ditolak [label="<b>Ditolak</b>\\l"]' in out
    assert re.search(r'^\ttindak \[label="2\. Tindak \[\[choice\]\] lanjut\\l" color=red fillcolor=darksalmon', out, re.M)
