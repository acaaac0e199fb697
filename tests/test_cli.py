"""The `sop` command, called in-process through runner.cli.main."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from sqlalchemy import func, select

from conftest import DEFINITIONS, LAPOR
from runner import services
from runner.cli import main
from runner.registry import Registry
from runner.services import demo
from runner.store import Case, User, make_engine, session_factory, transaction

# -- the source document, as data ------------------------------------------------------------------
# Transcribed from the seed document (Permenpan-RB 35/2012 SOP of Diskominfo Kapuas Hulu).
SEED_SIGNATURES = {  # "Dibuat/Diperiksa/Disahkan Oleh" lines, as printed
    "prepared_by": "<p>KEPALA BIDANG KOMUNIKASI INFORMASI PUBLIK</p>  <p>AELUKMANUL HAKIM NIP. 19820307 200112 1 003</p>",
    "checked_by": "<p>SEKRETARIS DISKOMINFO STATISTIK KABUPATEN KAPUAS HULU</p>  <p>Drs. D. WILLIAM, M.Si NIP. 19620928 199003 1 004</p>",
    "approved_by": "<p>KEPALA DINAS KOMUNIKASI INFORMATIKA STATISTIK KABUPATEN KAPUAS HULU,</p>  <p>Ir. ISTIWA, M.Si NIP. 19650507 199803 1 006</p>",
}
SEED_AGENCY = "**DINAS KOMUNIKASI INFORMATIKA\nSTATISTIK KABUPATEN KAPUAS\nHULU**"
SEED_NUMBER = "065/144/0K15/KAP - 2018"
SEED_DATES = {"created": "25 April 2018", "revised": "16 Mei 2018", "effective": "23 Mei 2018"}
SEED_LEGAL_BASIS = [
    "Undang-undang Nomor 14 Tahun 2008 tentang Keterbukaan Informasi Publik",
    "Peraturan Presiden Nomor 76 Tahun 2013 tentang Sistem Pelayanan Pengaduan Publik Nasional",
    "Permenpan Nomor 25 Tahun 2009 tentang Pelayanan Publik",
    "Permenkominfo Nomor 14 Tahun 2016 tentang pedoman Nomenklatur Perangkat Daerah urusan Komunikasi Informatika",
]
SEED_QUALIFICATIONS = [
    "Kasi Komunikasi Media Publik (S-1)",
    "Kabid Komunikasi Informasi Publik (S1-S2)",
    "Kepala Dinas (S1-S2)",
    "PNS (SLTA, DIII, DIV, S1 dan S2) dan tenaga ahli (operator aplikasi)",
    "Pejabat Penghubung (S1- S2)",
]
SEED_EQUIPMENT = "Komputer/laptop, ATK, Jaringan internet"
SEED_KETERANGAN = [
    "Kasi Komunikasi Media Publik", "Kepala Bidang Komunikasi Informasi Publik",
    "Kepala Dinas Komunikasi Informatika Statistik", "Staf PNS", "Tenaga Ahli (Operator Aplikasi)",
    "Pejabat Penghubung", "Kadis OPD Terkait",
]
SEED_PELAKSANA = ["PELAPOR", "KADIS", "KABID", "KASI", "ADMIN UTAMA", "OPERATOR OPD", "PEJABAT PENGHUBUNG",
                  "KADIS OPD/ TIM KOORDINASI"]
# NO, AKTIVITAS, PERSYARATAN/KELENGKAPAN, WAKTU, OUTPUT, KET.
SEED_TABLE = [
    (1, "Input laporan masyarakat dari berbagai kanal LAPORISP4N",
     "Komputer, i-net, data laporan masyarakat", "7,5 jam", "data laporan masyarakat", ""),
    (2, "Verifikasi laporan masyarakat oleh Admin Utama",
     "Komputer, i-net, data laporan masyarakat", "7,5 jam",
     "laporan masyarakat yang valid dan dapat ditindaklanjuti", ""),
    (3, "penyampaian daftar verifikasi laporan masyarakat kepada pimpinan",
     "Komputer, ATK, daftar laporan yang masuk", "1 jam",
     "laporan masyarakat yang valid dan dapat ditindaklanjuti", ""),
    (4, "Disposisi pimpinan untuk meneruskan atau tidak meneruskan laporan ke operator OPD",
     "Disposisi pimpinan", "5 jam", "daftar laporan yang dapat diteruskan ke operator OPD",
     "menyesuaikan kesediaan pimpinan"),
    (5, "penerimaan disposisi laporan dari admin utama dan diteruskan ke Pejabat Penghubung OPD",
     "Disposisi pimpinan, Komputer, I-Net", "30 menit", "data yang terkirim ke operator OPD", ""),
    (6, "Koordinasi dan konsultasi Pejabat Penghubung kepada Kadis OPD untuk penyelesaian jawaban laporan",
     "ATK, Komputer", "4 hari", "tindaklanjut/jawaban atas laporan masyarakat", "menyesuaikan kesediaan pimpinan"),
    (7, "penyampaian jawaban/verifikasi dari Kadis OPD kepada Pejabat Penghubung dan diteruskan ke operator OPD",
     "Komputer, i-net, data jawaban OPD terkait", "4 Jam", "jawaban yang terkirim ke admin utama", ""),
    (8, "penyampaian jawaban permasalahan/laporan ke admin utama",
     "Komputer, i-net, data jawaban OPD terkait", "3,5 jam", "jawaban yang terkirim ke pelapor/masyarakat", ""),
    (9, "meneruskan jawaban atas laporan kepada masyarakat/pelapor",
     "Komputer, I-net", "10 menit", "jawaban yang diterima dari Tim LAPOR", ""),
    (10, "membuat rekap hasil laporan aktifitas aplikasi LAPORISP4N setiap bulan dan disampaikan ke pimpinan",
     "Komputer, ATK, daftar laporan yang masuk dan terselesaikan", "3 Hari",
     "dokumen laporan/rekap laporan dan tindaklanjut OPD", ""),
    (11, "Mengarsipkan laporan bulanan sebagai dokumentasi kegiatan",
     "Dokumen laporan", "30 menit", "terarsipnya laporan bulanan LAPOR", ""),
]
ISO = {"7,5 jam": "PT7H30M", "1 jam": "PT1H", "5 jam": "PT5H", "30 menit": "PT30M", "4 hari": "P4D",
       "4 Jam": "PT4H", "3,5 jam": "PT3H30M", "10 menit": "PT10M", "3 Hari": "P3D"}
# The flowchart marks were lost; this is the reading of who performs each row.
PERFORMERS = {1: "admin_utama", 2: "admin_utama", 3: "admin_utama", 4: "kadis", 5: "operator_opd",
              6: "pejabat_penghubung", 7: "kadis_opd", 8: "operator_opd", 9: "admin_utama", 10: "admin_utama",
              11: "admin_utama"}
MONTHS = {"Januari": 1, "Februari": 2, "Maret": 3, "April": 4, "Mei": 5, "Juni": 6, "Juli": 7, "Agustus": 8,
          "September": 9, "Oktober": 10, "November": 11, "Desember": 12}


def iso_date(indonesian: str) -> str:
    day, month, year = indonesian.split()
    return f"{int(year):04d}-{MONTHS[month]:02d}-{int(day):02d}"


def official(raw: str) -> dict:
    position, person = re.fullmatch(r"<p>(.+?)</p>\s+<p>(.+?)</p>", raw).groups()
    name, nip = person.split(" NIP. ")
    # The trailing comma before a signature ("KEPALA DINAS ...,") is punctuation, not the position.
    return {"position": position.rstrip(","), "name": name, "nip": nip}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# -- validate ---------------------------------------------------------------------------------------
def test_validate_ok(capsys):
    code, out, _ = run(capsys, "validate", str(LAPOR))
    assert code == 0
    assert out == f"{LAPOR}: OK\n"


def test_validate_prints_warnings_and_exits_0_unless_strict(capsys, tmp_path):
    text = LAPOR.read_text(encoding="utf-8")
    assert text.count("\nroles:\n") == 1
    text = text.replace("\nroles:\n", "\nroles:\n  - id: tamu\n    name: Tamu\n")
    line = text.splitlines().index("  - id: tamu") + 1
    path = tmp_path / "lapor.yaml"
    path.write_text(text, encoding="utf-8")
    expected = [f"{path}:{line}:9: warning: roles[0].id: role 'tamu' is used by no activity (performers, "
                "recipients) and no flow (started_by)", f"{path}: OK"]
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0 and out.splitlines() == expected
    code, out, _ = run(capsys, "validate", "--strict", str(path))
    assert code == 1 and out.splitlines() == expected
    code, out, _ = run(capsys, "validate", "--strict", str(LAPOR))
    assert code == 0 and out == f"{LAPOR}: OK\n"


def test_validate_several_files_reports_each(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(LAPOR), str(bad))
    assert code == 1
    assert f"{LAPOR}: OK" in out
    assert f"{bad}:1:1: error: " in out


def test_validate_points_at_an_unknown_role(capsys, tmp_path):
    text = LAPOR.read_text(encoding="utf-8")
    original = "performers: [kadis_opd]"
    assert text.count(original) == 1
    text = text.replace(original, "performers: [kadis_odp]")
    copy = tmp_path / "laporisp4n.yaml"
    copy.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    line = next(i for i, ln in enumerate(lines, 1) if "performers: [kadis_odp]" in ln)
    column = lines[line - 1].index("kadis_odp") + 1

    code, out, _ = run(capsys, "validate", str(copy))
    assert code == 1
    assert f"{copy}: OK" not in out
    errors = [ln for ln in out.splitlines() if re.match(rf"{re.escape(str(copy))}:\d+:\d+: error: ", ln)]
    assert errors == [
        f"{copy}:{line}:{column}: error: activities[6].performers[0]: unknown role 'kadis_odp' "
        "(did you mean 'kadis_opd'?)"
    ]


@pytest.mark.parametrize("content", [
    b"id: x\n\ttitle: y\n",
    b"id: [unclosed\n",
    b"{{{{\n",
    b"- just\n- a list\n",
    b"",
    b"\xff\xfe\x00garbage",
    b"id: x\nid: y\n",
    b"a: &a [*a]\n",
    b"? [a]\n: b\n",
    b"'unterminated\n",
    b"%YAML 9.9\n--- x\n",
    b"a: 1\n---\nb: 2\n",
    b"id: x\ntitle: a\x0cb\n",
    b"\x00\x00\x00",
    b"id: \x1b[31mred\n",
    "id: x\ntitle: \ufffe\n".encode(),
    b"id: !!python/object/apply:os.system ['echo pwned']\n",
    b"!foo\nid: x\n",
])
def test_malformed_yaml_never_produces_a_traceback(capsys, tmp_path, content):
    path = tmp_path / "broken.yaml"
    path.write_bytes(content)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: error: .+", out, re.M), out
    code, _, err = run(capsys, "show", "--json", str(path))
    assert code == 1
    assert "error" in err


def test_missing_file_reports_an_error(capsys, tmp_path):
    missing = tmp_path / "nope.yaml"
    code, out, _ = run(capsys, "validate", str(missing))
    assert code == 1
    assert out.startswith(f"{missing}:1:1: error: cannot read file")
    code, out, err = run(capsys, "show", str(missing))
    assert code == 1
    assert err.startswith(f"{missing}:1:1: error: cannot read file")  # like validate


# -- hostile files --------------------------------------------------------------------------------------
@pytest.mark.parametrize("char, name", [("\x00", "U+0000 (NUL)"), ("\x0c", "U+000C (form feed)"),
                                        ("\x1b", "U+001B (escape)"), ("\x7f", "U+007F (delete)"),
                                        ("\x01", "U+0001"), ("\ufffe", "U+FFFE (not a character)")])
def test_validate_names_a_control_character_at_its_line_and_column(capsys, tmp_path, char, name):
    text = LAPOR.read_text(encoding="utf-8")
    at = text.index("performers: [kadis_opd]") + len("performers: [")
    path = tmp_path / "laporisp4n.yaml"
    path.write_text(text[:at] + char + text[at:], encoding="utf-8")
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert out.splitlines() == [f"{path}:{line}:{column}: error: control character {name} is not allowed; "
                                "delete it (it is invisible in most editors)".replace("control character U+FFFE",
                                                                                      "character U+FFFE")]


def test_validate_refuses_tags(capsys, tmp_path):
    path = tmp_path / "tagged.yaml"
    path.write_text("id: !!python/object/apply:os.system ['echo pwned']\ntitle: !!str T\nroles: !foo []\n",
                    encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert [ln.split(" (found")[0] for ln in out.splitlines()] == [
        f"{path}:1:5: error: tags are not allowed", f"{path}:2:8: error: tags are not allowed",
        f"{path}:3:8: error: tags are not allowed"]


def test_validate_refuses_an_oversized_file_from_its_size(capsys, tmp_path):
    from runner.yamlsource import MAX_BYTES

    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(8 * 1024**3)  # sparse: reading it would take minutes and gigabytes
    code, out, _ = run(capsys, "validate", str(path), str(LAPOR))
    assert code == 1
    assert out.splitlines() == [f"{path}:1:1: error: file is larger than {MAX_BYTES} bytes ({8 * 1024**3} bytes)",
                                f"{LAPOR}: OK"]


def test_validate_caps_the_problems_of_a_60000_key_file(capsys, tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("".join(f"k{i}: v\n" for i in range(60_000)), encoding="utf-8")
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 101
    assert f"{path}:1:1: error: (document): unknown field 'k0'" in lines[:7]
    assert lines[99] == f"{path}:94:1: error: (document): unknown field 'k93'"
    assert lines[-1] == f"{path}: … and {60_000 + 6 - 100} more problems"  # + the 6 required fields missing


def test_validate_a_directory_checks_each_definition_in_order(capsys, tmp_path):
    text = LAPOR.read_text(encoding="utf-8")
    (tmp_path / "b_lapor.yml").write_text(text, encoding="utf-8")
    (tmp_path / "a_lapor.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "c_bad.yaml").write_text("id: x\ntitle: \x0c\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a definition\n", encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("id: "))
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        f"{tmp_path / 'a_lapor.yaml'}: OK",
        f"{tmp_path / 'b_lapor.yml'}:{line}:5: error: id 'laporisp4n' is already used by a_lapor.yaml; "
        "give this definition an id of its own",
        f"{tmp_path / 'c_bad.yaml'}:2:8: error: control character U+000C (form feed) is not allowed; "
        "delete it (it is invisible in most editors)",
    ]
    code, out, _ = run(capsys, "validate", str(DEFINITIONS))
    assert code == 0 and out == "".join(f"{p}: OK\n" for p in sorted(DEFINITIONS.glob("*.yaml")))
    assert f"{LAPOR}: OK\n" in out and len(out.splitlines()) >= 2  # LAPOR and the PPID SOP at least
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, _ = run(capsys, "validate", str(empty))
    assert code == 1 and out == f"{empty}: error: no definition files (*.yaml, *.yml) in this directory\n"


# -- show --json against the seed document -----------------------------------------------------------
@pytest.fixture(scope="module")
def shown():
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["show", "--json", str(LAPOR)]) == 0
    return json.loads(buf.getvalue())


def test_show_identity_matches_the_seed(shown):
    assert shown["id"] == "laporisp4n"
    ident = shown["identity"]
    assert ident["agency"] == " ".join(SEED_AGENCY.strip("*").split())
    assert ident["number"] == SEED_NUMBER
    for key, text in SEED_DATES.items():
        assert ident[key] == iso_date(text)
    assert (ident["created"], ident["revised"], ident["effective"]) == ("2018-04-25", "2018-05-16", "2018-05-23")
    for key, raw in SEED_SIGNATURES.items():
        assert ident[key] == official(raw), key
    assert ident["prepared_by"]["nip"] == "19820307 200112 1 003"
    assert ident["legal_basis"] == SEED_LEGAL_BASIS
    assert ident["qualifications"] == SEED_QUALIFICATIONS
    assert ident["equipment"] == SEED_EQUIPMENT.split(", ")
    assert ident["remarks"] == SEED_KETERANGAN
    assert ident["warnings"] == []
    assert ident["recording"] == []


def test_show_roles_match_the_performer_columns(shown):
    roles = shown["roles"]
    assert len(roles) == 8
    norm = lambda s: " ".join(s.upper().replace("/ ", "/").split())  # noqa: E731
    assert [norm(r["name"]) for r in roles] == [norm(h) for h in SEED_PELAKSANA]
    by_id = {r["id"]: r for r in roles}
    assert {i for i, r in by_id.items() if r["unit_scoped"]} == {"operator_opd", "pejabat_penghubung", "kadis_opd"}
    assert {i for i, r in by_id.items() if r["external"]} == {"pelapor"}


def test_show_activities_match_the_seed_table(shown):
    activities = shown["activities"]
    assert [a["no"] for a in activities] == [row[0] for row in SEED_TABLE]
    for a, (no, name, requirements, waktu, output, ket) in zip(activities, SEED_TABLE):
        assert a["name"] == name, no
        assert a["requirements"] == requirements.split(", "), no
        assert a["time_limit"]["text"] == waktu, no
        assert a["time_limit"]["duration"] == ISO[waktu], no
        assert a["output"] == output, no
        assert a["note"] == ket, no
        assert a["performers"] == [PERFORMERS[no]], no
        assert a["time_limit"]["advisory"] is (no in (4, 6)), no


def test_show_flows(shown):
    flows = {f["id"]: f for f in shown["flows"]}
    assert flows["pengaduan"]["started_by"] == ["pelapor", "admin_utama"]
    assert flows["rekap_bulanan"]["schedule"] == "monthly"
    assert [a["flow"] for a in shown["activities"]] == ["pengaduan"] * 9 + ["rekap_bulanan"] * 2


def test_show_text(capsys):
    code, out, _ = run(capsys, "show", str(LAPOR))
    assert code == 0
    assert "065/144/0K15/KAP - 2018" in out
    assert "  6. [pejabat_penghubung] Koordinasi dan konsultasi" in out
    assert "4 hari (P4D)" in out


# -- database commands -----------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


def db_args(db):
    return ["--database", db, "--definitions", str(DEFINITIONS)]


def test_db_upgrade_creates_the_schema_and_is_repeatable(capsys, db):
    for _ in range(2):
        code, out, _ = run(capsys, "db", "upgrade", "--database", db)
        assert code == 0
        assert out == "database schema is up to date\n"
    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0
    engine.dispose()


def test_demo_creates_accounts_and_opens_last_month(capsys, db):
    code, out, _ = run(capsys, "demo", *db_args(db))
    assert code == 0
    for username in ("admin_utama", "kadis", "kabid", "kasi", "operator_opd.dinkes", "pejabat_penghubung.disdik",
                     "kadis_opd.dpupr"):
        assert re.search(rf"^\s+{re.escape(username)}\s+demo-sop-2026\s", out, re.M), username
    assert "pelapor" not in out and "pemohon" not in out  # external roles have no account
    # every SOP's staff get accounts, listed under the SOP's title
    for username in ("petugas_informasi", "ppid", "atasan_ppid"):
        assert re.search(rf"^\s+{re.escape(username)}\s+demo-sop-2026\s", out, re.M), username
    assert re.search(r"^  SOP Pengelolaan LAPORISP4N:\n\s+kadis\s", out, re.M)
    assert re.search(r"^  SOP Pelayanan Informasi Publik PPID:\n\s+petugas_informasi\s", out, re.M)
    # demo already opened the monthly case, so a tick finds nothing to do
    code, out, _ = run(capsys, "tick", *db_args(db))
    assert (code, out) == (0, "nothing to open\n")
    # running demo again adds nothing
    code, _, _ = run(capsys, "demo", *db_args(db))
    assert code == 0
    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        # one account per staff role of every SOP (one per demo unit when unit-scoped), and the admin
        roles = {r.id: r for sop in Registry.from_directory(DEFINITIONS).current() for r in sop.roles if not r.external}
        expected = {demo.DEMO_ADMIN} | {f"{r.id}.{u}" if r.unit_scoped else r.id
                                        for r in roles.values() for u, _ in demo.DEMO_UNITS}
        assert set(s.scalars(select(User.username))) == expected
        assert services.authenticate(s, "kadis", "demo-sop-2026") is not None
    engine.dispose()


def test_demo_cases_are_opened_once_and_only_when_asked(capsys, db):
    code, out, _ = run(capsys, "demo", *db_args(db))
    assert code == 0 and "Demo cases" not in out
    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        before = s.scalar(select(func.count()).select_from(Case))  # the monthly recap only
    code, out, _ = run(capsys, "demo", "--cases", *db_args(db))
    opened = int(re.search(r"^Demo cases opened: (\d+)$", out, re.M)[1])
    with transaction(session_factory(engine)) as s:
        assert s.scalar(select(func.count()).select_from(Case)) == before + opened
        assert {"laporisp4n", "ppid"} <= set(s.scalars(select(Case.sop_id).where(Case.closed_at.is_not(None))))
    code, out, _ = run(capsys, "demo", "--cases", *db_args(db))
    assert code == 0 and "Demo cases" not in out  # every flow has its cases already
    engine.dispose()


def test_user_add(capsys, db, monkeypatch):
    assert run(capsys, "db", "upgrade", "--database", db)[0] == 0
    assert run(capsys, "unit", "add", "dinkes", "Dinas Kesehatan", *db_args(db))[0] == 0
    monkeypatch.setenv("SOP_NEW_PASSWORD", "rahasia-sekali")
    code, out, _ = run(capsys, "user", "add", "Siti", "--role", "operator_opd", "--unit", "dinkes",
                       "--name", "Siti Aminah", *db_args(db))
    assert code == 0
    assert out == "user Siti created with role(s) operator_opd\n"
    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        user = services.authenticate(s, "siti", "rahasia-sekali")
        assert user is not None
        assert (user.full_name, user.unit_id, user.role_ids) == ("Siti Aminah", "dinkes", frozenset({"operator_opd"}))
        assert services.authenticate(s, "siti", "wrong password") is None
    engine.dispose()
    capsys.readouterr()  # the refused login above was logged (a warning on stderr)

    code, _, err = run(capsys, "user", "add", "siti", "--role", "kadis", *db_args(db))
    assert code == 1 and err == "error: user 'siti' already exists\n"
    code, _, err = run(capsys, "user", "add", "budi", "--role", "bupati", *db_args(db))
    assert code == 1 and "unknown role(s) bupati" in err
    code, _, err = run(capsys, "user", "add", "budi", "--role", "pelapor", *db_args(db))
    assert code == 1 and "unknown role(s) pelapor" in err  # the external role has no accounts
    code, _, err = run(capsys, "user", "add", "budi", "--role", "kadis_opd", "--unit", "bappeda", *db_args(db))
    assert code == 1 and "no unit 'bappeda'" in err
    monkeypatch.setenv("SOP_NEW_PASSWORD", "short")
    code, _, err = run(capsys, "user", "add", "budi", "--role", "kadis", *db_args(db))
    assert code == 1 and "at least 10 characters" in err


def test_tick_twice(capsys, db):
    assert run(capsys, "db", "upgrade", "--database", db)[0] == 0
    code, out, _ = run(capsys, "load", *db_args(db))
    assert code == 0 and out.startswith("laporisp4n: version ")
    code, out, _ = run(capsys, "tick", *db_args(db))
    assert code == 0
    assert re.fullmatch(r"opened case \d+: Rekap dan arsip bulanan \d{4}-\d{2}\n", out), out
    code, out, _ = run(capsys, "tick", *db_args(db))
    assert (code, out) == (0, "nothing to open\n")
    engine = make_engine(db)
    with transaction(session_factory(engine)) as s:
        cases = s.scalars(select(Case)).all()
        assert [(c.flow, c.state) for c in cases] == [("rekap_bulanan", "rekap_laporan")]
    engine.dispose()


def test_database_commands_report_bad_definitions(capsys, tmp_path, db):
    defs = tmp_path / "defs"
    defs.mkdir()
    shutil.copy(LAPOR, defs / "laporisp4n.yaml")
    (defs / "broken.yaml").write_text("id: broken\n\ttitle: x\n", encoding="utf-8")
    code, out, err = run(capsys, "load", "--database", db, "--definitions", str(defs))
    assert code == 1
    assert f"{defs / 'broken.yaml'}:2:1: error: tab characters" in err


def test_bad_database_url(capsys):
    code, _, err = run(capsys, "db", "upgrade", "--database", "not a url")
    assert code == 1
    assert err.startswith("error: SOP_DATABASE_URL 'not a url' is not a database URL")


def test_missing_definitions_directory(capsys, tmp_path, db):
    code, _, err = run(capsys, "tick", "--database", db, "--definitions", str(tmp_path / "none"))
    assert code == 1
    assert "is not a directory" in err


def test_show_json_carries_calendar_periods_file_limits_and_prefill(shown):
    assert shown["calendar"]["periods"] == [{"name": "Ramadan 1448 H", "from": "2027-02-08", "to": "2027-03-09"}]
    assert shown["migration"] is None
    fields = {f["id"]: f for a in shown["activities"] for f in a["fields"]}
    assert fields["surat_jawaban"]["type"] == "file" and fields["surat_jawaban"]["max_files"] == 2
    assert "application/pdf" in fields["surat_jawaban"]["accept"]
    assert fields["jawaban_akhir"]["prefill"] == {"field": "jawaban", "activity": "kirim_jawaban_opd"}
    assert "max_files" not in fields["jawaban_akhir"] and "prefill" not in fields["surat_jawaban"]
