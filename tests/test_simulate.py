"""`sop simulate`: a case walked in memory through the real engine, with its due times."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import LAPOR
from runner.cli import main
from runner.definition import load_text
from runner.simulate import MAX_STEPS, SimulationError, simulate
from runner.starter import new_definition

START = "2026-12-07T15:00:00+07:00"  # a Monday, 15:00 in Kapuas Hulu (Asia/Pontianak, UTC+7)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = main(["simulate", str(LAPOR), *args])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def test_lapor_default_walk(capsys):
    status, lines, err = run(capsys, "--start", START)
    assert status == 0, err
    assert lines[0] == ("SOP Pengelolaan LAPORISP4N [laporisp4n], flow pengaduan (Penanganan laporan masyarakat): "
                        "opened 2026-12-07T15:00:00+07:00 by Pelapor")
    steps = lines[1:-2]
    assert [s.split(".")[0] for s in steps] == [str(n) for n in range(1, 10)]
    # 7,5 jam from Monday 15:00: one hour on Monday, then 6,5 hours of Tuesday's office hours.
    assert steps[0] == ("1. Input laporan masyarakat dari berbagai kanal LAPORISP4N [Admin Utama] → simpan | "
                        "start 2026-12-07T15:00:00+07:00 | due 2026-12-08T15:00:00+07:00 (7,5 jam)")
    assert steps[3].endswith("→ teruskan | start 2026-12-09T16:00:00+07:00 | "
                             "due 2026-12-10T13:30:00+07:00 (5 jam, advisory)")
    assert "[Operator OPD] → teruskan_ke_penghubung" in steps[4]  # the placeholder unit reached the OPD's step
    assert steps[8].endswith("→ teruskan | start 2026-12-17T14:00:00+07:00 | due 2026-12-17T14:10:00+07:00 (10 menit)")
    assert lines[-2] == "End: selesai (Selesai, jawaban telah diteruskan kepada pelapor) at 2026-12-17T14:10:00+07:00"
    # "4 hari" (step 6) spans a Friday, a full 7,5-hour day under Perpres 21/2023
    assert lines[-1] == "Total working time: 59 h 10 min over 9 step(s) (advisory limits included)"


def test_explicit_path_with_a_return_for_revision(capsys):
    path = "simpan,valid,sampaikan,teruskan,teruskan_ke_penghubung,ajukan,kembalikan,ajukan,setujui,kirim"
    status, lines, err = run(capsys, "--start", START, "--path", path)  # step 9: its first action, by default
    assert status == 0, err
    steps = lines[1:-2]
    assert [s.split(".")[0] for s in steps] == ["1", "2", "3", "4", "5", "6", "7", "6", "7", "8", "9"]
    assert "→ kembalikan | start 2026-12-16T14:00:00+07:00 | due 2026-12-17T09:30:00+07:00 (4 Jam)" in steps[6]
    # Back at step 6 when step 7 was due; 4 working days later is 23 December.
    assert steps[7].endswith("| start 2026-12-17T09:30:00+07:00 | due 2026-12-23T09:30:00+07:00 (4 hari, advisory)")
    # 3,5 jam from 23 December 14:30 skips cuti bersama (24th), Christmas and the weekend.
    assert steps[9].endswith("| start 2026-12-23T14:30:00+07:00 | due 2026-12-28T09:30:00+07:00 (3,5 jam)")
    assert lines[-2].startswith("End: selesai ")
    # step 6 is done twice, each "4 hari" spanning a Friday (7,5 hours under Perpres 21/2023)
    assert lines[-1] == "Total working time: 93 h 10 min over 11 step(s) (advisory limits included)"


def test_path_to_another_end(capsys):
    status, lines, _ = run(capsys, "--start", START, "--path", "simpan,tidak_valid")
    assert status == 0
    assert lines[-2] == "End: tidak_valid (Ditutup, laporan tidak valid) at 2026-12-09T15:00:00+07:00"
    assert lines[-1] == "Total working time: 15 h 00 min over 2 step(s)"


@pytest.mark.parametrize("path, message", [
    ("simpan,nope", "error: step 2 (Verifikasi laporan masyarakat oleh Admin Utama) has no action 'nope'; "
                    "its actions: valid, tidak_valid"),
    ("simpan,tidak_valid,valid", "error: the path is longer than the walk: it reached the end 'tidak_valid' "
                                 "with valid left over"),
])
def test_impossible_path(capsys, path, message):
    status, lines, err = run(capsys, "--start", START, "--path", path)
    assert status == 1
    assert lines == []
    assert err.strip() == message


def test_unknown_flow_and_bad_start(capsys):
    status, _, err = run(capsys, "--flow", "zzz")
    assert status == 1 and "no flow 'zzz'; its flows: pengaduan, rekap_bulanan" in err
    status, _, err = run(capsys, "--start", "besok")
    assert status == 1 and "--start 'besok' is not an ISO 8601 date and time" in err


def test_scheduled_flow_is_opened_by_the_scheduler(capsys):
    status, lines, err = run(capsys, "--flow", "rekap_bulanan", "--start", "2026-12-01T07:30:00+07:00")
    assert status == 0, err
    assert lines == [
        "SOP Pengelolaan LAPORISP4N [laporisp4n], flow rekap_bulanan (Rekap dan arsip bulanan): "
        "opened 2026-12-01T07:30:00+07:00 by the scheduler",
        "10. membuat rekap hasil laporan aktifitas aplikasi LAPORISP4N setiap bulan dan disampaikan ke pimpinan "
        "[Admin Utama] → sampaikan | start 2026-12-01T07:30:00+07:00 | due 2026-12-04T07:30:00+07:00 (3 Hari)",
        "11. Mengarsipkan laporan bulanan sebagai dokumentasi kegiatan [Admin Utama] → arsipkan | "
        "start 2026-12-04T07:30:00+07:00 | due 2026-12-04T08:00:00+07:00 (30 menit)",
        "End: terarsip (Laporan bulanan terarsip) at 2026-12-04T08:00:00+07:00",
        "Total working time: 23 h 00 min over 2 step(s)",
    ]


def test_start_without_offset_is_read_in_the_sop_time_zone(capsys):
    status, lines, _ = run(capsys, "--start", "2026-12-07T15:00:00")
    assert status == 0
    assert "due 2026-12-08T15:00:00+07:00 (7,5 jam)" in lines[1]


def test_a_default_walk_that_loops_stops():
    text = new_definition("putar_balik")
    # The first action of step 3 becomes the return for revision: the default walk never ends.
    head, tail = text.split("      - id: setujui", 1)
    approve, back = tail.split("      - id: kembalikan", 1)
    sop = load_text(head + "      - id: kembalikan" + back.rstrip("\n") + "\n      - id: setujui" + approve)
    with pytest.raises(SimulationError, match=f"no end reached after {MAX_STEPS} steps"):
        simulate(sop, start=dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc))
    walk = simulate(sop, path=["teruskan", "ajukan", "setujui"], start=dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc))
    assert walk.end.id == "selesai"
