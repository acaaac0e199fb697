"""Attachments (``type: file``): content sniffing, storage, one transaction per step, downloads
through the access policy, the reporter's public files, ``sop check-db``, and the public form."""

from __future__ import annotations

import datetime as dt
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from runner import services
from runner.definition import load_text
from runner.definition.model import Field, Text
from runner.errors import NotFound
from runner.forms import CleanFile, Upload, clean
from runner.services import attachments
from runner.services.attachments import Storage
from runner.simulate import sample_form
from runner.store import Attachment, Case, transaction
from web_helpers import Visitor, dispose, make_app

REPO = Path(__file__).resolve().parents[1]


def png(width: int = 1, height: int = 1) -> bytes:
    """A real (tiny) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ" + b"\x90\x00" * 30 + b"This program cannot be run in DOS mode." + b"\x00" * 64


def file_field(**kw) -> Field:
    base = dict(id="lampiran", type="file", label=Text("Lampiran"), max_files=2, max_size=10_000,
                accept=("image/*", "application/pdf"))
    base.update(kw)
    return Field(**base)


# -- forms.clean: the type is what the bytes show ----------------------------------------------------
def test_a_png_renamed_pdf_is_a_png():
    values, errors = clean([file_field()], {"lampiran": [Upload("surat.pdf", png())]})
    assert not errors
    (f,) = values["lampiran"]
    assert isinstance(f, CleanFile) and f.mime == "image/png" and f.name == "surat.pdf"
    # ... so a field taking PDFs only refuses it, naming the file and what it really is
    _, errors = clean([file_field(accept=("application/pdf",))], {"lampiran": [Upload("surat.pdf", png())]})
    assert errors["lampiran"].code == "file_type"
    assert "surat.pdf" in errors["lampiran"].message and "PNG" in errors["lampiran"].message


def test_an_exe_renamed_jpg_is_refused():
    _, errors = clean([file_field()], {"lampiran": [Upload("foto.jpg", EXE)]})
    assert errors["lampiran"].code == "file_type" and "foto.jpg" in errors["lampiran"].message
    _, errors = clean([file_field()], {"lampiran": [Upload("catatan.jpg", b"just some text")]})
    assert errors["lampiran"].code == "file_type"  # unknown content: refused too


def test_too_big_too_many_empty_and_text():
    _, errors = clean([file_field(max_size=len(png()) - 1)], {"lampiran": [Upload("besar.png", png())]})
    assert errors["lampiran"].code == "file_too_large" and "besar.png" in errors["lampiran"].message
    three = [Upload(f"{k}.png", png()) for k in range(3)]
    _, errors = clean([file_field()], {"lampiran": three})
    assert errors["lampiran"].code == "too_many_files"
    _, errors = clean([file_field()], {"lampiran": [Upload("kosong.pdf", b"")]})
    assert errors["lampiran"].code == "file_empty"
    _, errors = clean([file_field()], {"lampiran": "C:\\boot.ini"})  # a hand-made post
    assert errors["lampiran"].code == "not_file"
    values, errors = clean([file_field()], {"lampiran": ""})  # an empty file input
    assert not errors and values["lampiran"] is None
    _, errors = clean([file_field(required=True)], {})
    assert errors["lampiran"].code == "required"


def test_the_displayed_name_keeps_no_path_or_controls():
    values, _ = clean([file_field()], {"lampiran": [Upload("..\\..\\etc/pass\x00wd.pdf", PDF)]})
    assert values["lampiran"][0].name == "passwd.pdf"


# -- the language ---------------------------------------------------------------------------------
MINI = (REPO / "tests" / "broken" / "file_field_type.yaml").read_text(encoding="utf-8")


def _mini(field_lines: str) -> str:
    text = MINI.split("\n", 1)[1]  # without the broken file's "# expect" line
    return text.replace("      - id: lampiran\n        type: upload\n        label: Lampiran\n",
                        "      - id: lampiran\n        type: file\n        label: Lampiran\n" + field_lines)


def test_the_loader_reads_file_fields():
    sop = load_text(_mini("        max_files: 3\n        max_size: 2 MB\n        accept: [application/pdf]\n"))
    field = next(f for a in sop.activities for f in a.fields if f.id == "lampiran")
    assert (field.max_files, field.max_size, field.accept) == (3, 2 * 1024 * 1024, ("application/pdf",))
    plain = next(f for a in load_text(_mini("")).activities for f in a.fields if f.id == "lampiran")
    assert (plain.max_files, plain.max_size, plain.accept) == (1, 5 * 1024 * 1024, ("image/*", "application/pdf"))


@pytest.mark.parametrize("lines, message", [
    ("        max_size: 80 MB\n", "max_size '80 MB' is not a size up to 50 MB"),
    ("        accept: [application/x-msdownload]\n", "is not a file type SOP Runner can recognise"),
    ("        accept: [imgae/*]\n", "is not a file type SOP Runner can recognise"),
    ("        examples: [foto.jpg]\n", "a file field takes no examples"),
])
def test_the_loader_refuses_bad_file_limits(lines, message):
    from runner.errors import DefinitionError

    with pytest.raises(DefinitionError) as exc:
        load_text(_mini(lines))
    assert any(message in p.message for p in exc.value.problems), [p.message for p in exc.value.problems]


def test_file_keys_on_another_field_are_refused():
    from runner.errors import DefinitionError

    text = _mini("").replace("        type: unit\n        label: OPD tujuan\n",
                             "        type: unit\n        label: OPD tujuan\n        max_files: 2\n")
    with pytest.raises(DefinitionError) as exc:
        load_text(text)
    assert any("max_files is only for file fields, not 'unit'" in p.message for p in exc.value.problems)


# -- through the web --------------------------------------------------------------------------------
@pytest.fixture
def uploads(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(db_url, seeded, uploads):
    app = make_app(db_url, SOP_UPLOADS=str(uploads))
    yield app
    dispose(app)


def _files(uploads: Path) -> list[Path]:
    return sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []


def _report(citizen: Visitor, files, **extra):
    form = {"judul": "Jalan berlubang", "isi_laporan": "Lubang besar di depan pasar.", "nama_pelapor": "Budi",
            "kontak_pelapor": "0812345678", "lampiran": files, **extra}
    return citizen.submit("/lapor/laporisp4n/pengaduan", form, control="judul")


def _code(response) -> str:
    return response.headers["Location"].split("kode=")[1].split("&")[0]


def test_the_public_form_takes_a_photo(app, citizen, staff, factory, uploads):
    r = _report(citizen, [(io.BytesIO(png()), "jalan rusak.jpg"), (io.BytesIO(PDF), "../../surat.pdf")])
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    code = _code(r)
    with factory() as s:
        case = s.scalar(select(Case).where(Case.tracking_code == code))
        rows = list(s.scalars(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)))
        refs = case.data["lampiran"]
    assert [(a.name, a.mime, a.seq, a.field) for a in rows] == [
        ("jalan rusak.jpg", "image/png", 1, "lampiran"), ("surat.pdf", "application/pdf", 1, "lampiran")]
    assert [ref["key"] for ref in refs] == [a.key for a in rows] and refs[0]["name"] == "jalan rusak.jpg"
    # stored outside the web root, under generated names with nothing of what was sent
    stored = _files(uploads)
    assert [p.name for p in stored] == sorted(a.stored_name for a in rows)
    web_root = (REPO / "web").resolve()
    for p in stored:
        assert web_root not in p.resolve().parents
        assert "jalan" not in str(p) and "surat" not in str(p) and ".." not in p.name
        assert (p.stat().st_mode & 0o077) == 0  # readable by the service's user only
    assert stored[0].read_bytes() in (png(), PDF)
    assert rows[0].sha256 == __import__("hashlib").sha256(png()).hexdigest()

    # staff who may see the case get the file, as a download
    admin = staff("admin_utama")
    page = admin.get(f"/kasus/{case.id}").get_data(as_text=True)
    assert f'/lampiran/{rows[0].key}' in page and "jalan rusak.jpg" in page
    got = admin.get(f"/lampiran/{rows[0].key}")
    assert got.status_code == 200 and got.data == png()
    assert got.mimetype == "image/png"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in got.headers["Cache-Control"]

    # someone the access policy does not let see the case: the same 404 as no file at all
    outsider = staff("operator_opd.dinkes")
    assert outsider.get(f"/kasus/{case.id}").status_code == 404
    assert outsider.get(f"/lampiran/{rows[0].key}").status_code == 404
    assert outsider.get(f"/lampiran/{'0' * 32}").status_code == 404
    assert outsider.get("/lampiran/not-a-key").status_code == 404
    assert citizen.get(f"/lampiran/{rows[0].key}").status_code in (302, 401)  # sign in first

    # the lampiran is internal (public: false): the tracking code does not open it
    assert citizen.get(f"/lacak/lampiran/{rows[0].key}?kode={code}").status_code == 404
    assert rows[0].key not in citizen.get(f"/lacak?kode={code}").get_data(as_text=True)


def test_a_refused_file_names_itself_and_keeps_nothing(app, citizen, factory, uploads):
    with citizen.client.session_transaction() as s:
        s["lang"] = "en"
    r = _report(citizen, [(io.BytesIO(EXE), "foto.jpg")])
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "foto.jpg is not an accepted type of file" in page
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    assert _files(uploads) == []
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0


def test_too_many_files_on_the_public_form(app, citizen, uploads):
    r = _report(citizen, [(io.BytesIO(png()), f"{k}.png") for k in range(4)])
    assert r.status_code == 400 and _files(uploads) == []


def test_a_request_over_the_upload_limit_is_a_clear_413(db_url, seeded, uploads):
    app = make_app(db_url, SOP_UPLOADS=str(uploads), SOP_UPLOAD_LIMIT=50_000)
    try:
        citizen = Visitor(app)
        with citizen.client.session_transaction() as s:
            s["lang"] = "en"
        r = _report(citizen, [(io.BytesIO(b"\x89PNG\r\n\x1a\n" + os.urandom(80_000)), "besar.png")])
        assert r.status_code == 413
        assert "larger than" in r.get_data(as_text=True) and _files(uploads) == []
        # a form under it goes through (ordinary pages keep the app-wide 1 MB)
        assert _report(citizen, [(io.BytesIO(png()), "kecil.png")]).status_code == 302
    finally:
        dispose(app)


# -- a step's files are part of its one transaction ----------------------------------------------
def _walk(factory, registry, actor, case_id: int, moves, storage: Storage, files=None):
    sop = registry.get("laporisp4n") or next(iter(registry.current().values()))
    today = dt.date.today()
    for step_id, action_id in moves:
        activity = sop.activity(step_id)
        action = activity.action(action_id)
        raw = sample_form(activity.fields_of(action), action.requires, today, action.assign_unit)
        raw = {k: ("dinkes" if v == "unit" else v) for k, v in raw.items() if v is not None}
        if files and (step_id, action_id) == moves[-1]:
            raw.update(files)
        role = sop.role(activity.performers[0])
        user = f"{role.id}.dinkes" if role.unit_scoped else role.id
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(user), action_id, raw, expected_version=None,
                                  storage=storage)


TO_ANSWER = [("input_laporan", "simpan"), ("verifikasi_laporan", "valid"), ("sampaikan_ke_pimpinan", "sampaikan"),
             ("disposisi_pimpinan", "teruskan"), ("terima_disposisi", "teruskan_ke_penghubung"),
             ("koordinasi_jawaban", "ajukan"), ("verifikasi_jawaban", "setujui")]


def _lapor_case(factory, registry) -> int:
    with transaction(factory) as s:
        case = services.start_case(s, registry, "laporisp4n", "pengaduan",
                                   {"judul": "Lampu padam", "isi_laporan": "Sudah seminggu.", "nama_pelapor": "Sari"},
                                   actor=services.public_flow(s, registry, "laporisp4n", "pengaduan")[2])
        return case.id


def test_the_opd_attaches_its_signed_letter(factory, registry, actor, uploads):
    storage = Storage(uploads)
    case_id = _lapor_case(factory, registry)
    _walk(factory, registry, actor, case_id, TO_ANSWER, storage)
    _walk(factory, registry, actor, case_id, [("kirim_jawaban_opd", "kirim")], storage,
          files={"surat_jawaban": [Upload("surat jawaban.pdf", PDF)]})
    with factory() as s:
        case = s.get(Case, case_id)
        (row,) = s.scalars(select(Attachment).where(Attachment.case_id == case_id))
        assert row.seq == case.version and row.field == "surat_jawaban"
        view = services.case_view(s, registry, case_id, actor("admin_utama"))
        shown = [(f.id, f.shown(v)) for h in view.history for f, v in h.values if f.type == "file"]
    assert shown == [("surat_jawaban", "surat jawaban.pdf")]  # the history shows the file's name
    assert storage.path(row.stored_name).read_bytes() == PDF


def test_the_step_form_takes_the_letter_through_the_web(app, staff, factory, registry, actor, uploads):
    case_id = _lapor_case(factory, registry)
    _walk(factory, registry, actor, case_id, TO_ANSWER, Storage(uploads))
    operator = staff("operator_opd.dinkes")
    page = operator.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="surat_jawaban" type="file"' in page
    assert 'accept="application/pdf,image/*"' in page and " multiple" in page
    r = operator.act(case_id, "kirim", {"jawaban": "Sudah diperbaiki.",
                                        "surat_jawaban": [(io.BytesIO(PDF), "Surat Jawaban.pdf")]})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with factory() as s:
        (row,) = s.scalars(select(Attachment).where(Attachment.case_id == case_id))
    history = staff("admin_utama").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert "Surat Jawaban.pdf" in history and f"/lampiran/{row.key}" in history


def test_a_failed_step_leaves_no_file(factory, registry, actor, uploads, monkeypatch):
    storage = Storage(uploads)
    case_id = _lapor_case(factory, registry)
    _walk(factory, registry, actor, case_id, TO_ANSWER, storage)
    from runner.services import cases

    def broken(*_a, **_k):
        raise RuntimeError("the database went away after the files were staged")

    monkeypatch.setattr(cases, "_worked_minutes", broken)
    with pytest.raises(RuntimeError):
        _walk(factory, registry, actor, case_id, [("kirim_jawaban_opd", "kirim")], storage,
              files={"surat_jawaban": [Upload("surat.pdf", PDF)]})
    assert _files(uploads) == []  # neither staged nor placed
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0
        assert s.get(Case, case_id).state == "kirim_jawaban_opd"


def test_a_rolled_back_savepoint_takes_its_files(factory, registry, seeded, uploads):
    storage = Storage(uploads)
    case_id = _lapor_case(factory, registry)
    now = dt.datetime.now(dt.timezone.utc)
    with transaction(factory) as s:
        _, kept = attachments.prepare({"a": (CleanFile("kept.pdf", "application/pdf", PDF),)})
        attachments.attach(s, storage, case_id, 1, kept, now)
        nested = s.begin_nested()
        _, dropped = attachments.prepare({"b": (CleanFile("dropped.pdf", "application/pdf", PDF),)})
        attachments.attach(s, storage, case_id, 1, dropped, now)
        nested.rollback()
    assert [p.name for p in _files(uploads)] == [kept[0].stored_name]
    with factory() as s:
        assert [a.name for a in s.scalars(select(Attachment))] == ["kept.pdf"]


def test_a_session_closed_without_commit_takes_its_files(factory, registry, seeded, uploads):
    case_id = _lapor_case(factory, registry)
    with factory() as s:
        s.begin()
        _, files = attachments.prepare({"a": (CleanFile("x.pdf", "application/pdf", PDF),)})
        attachments.attach(s, Storage(uploads), case_id, 1, files, dt.datetime.now(dt.timezone.utc))
        assert len(_files(uploads)) == 1  # staged
    assert _files(uploads) == []


# -- the reporter's files ---------------------------------------------------------------------------
PPID_TO_HANDOVER = [("periksa_kelengkapan", "lengkap"), ("registrasi_permohonan", "daftarkan"),
                    ("keputusan_ppid", "berikan_seluruhnya")]


def _ppid_case(factory, registry, actor, storage: Storage, confidential: bool = False) -> tuple[int, str]:
    form = {"nama_pemohon": "Rina", "nomor_identitas": "6106010101010001", "alamat": "Jl. Merdeka 1",
            "informasi_diminta": "Daftar penerima bantuan", "rincian_informasi": "Tahun 2026",
            "tujuan_penggunaan": "Penelitian", "cara_memperoleh": "melihat", "cara_salinan": "email",
            "telepon": "081234567", "email": "rina@example.com"}
    sop = registry.get("ppid")
    flow = sop.flow("permohonan")
    form = {**sample_form(flow.intake, (), dt.date.today()), **{k: v for k, v in form.items()
                                                                if any(f.id == k for f in flow.intake)}}
    for f in flow.intake:
        if f.type == "select" and f.id in form and form[f.id] not in {o.value for o in f.options}:
            form[f.id] = f.options[0].value
    if confidential:
        form["_rahasia"] = "on"
    with transaction(factory) as s:
        case = services.start_case(s, registry, "ppid", "permohonan", form,
                                   actor=services.public_flow(s, registry, "ppid", "permohonan")[2])
        case_id, code = case.id, case.tracking_code
    sop_moves = PPID_TO_HANDOVER + [("penyerahan_informasi", "serahkan")]
    for step_id, action_id in sop_moves:
        activity = sop.activity(step_id)
        action = activity.action(action_id)
        raw = {k: v for k, v in sample_form(activity.fields_of(action), action.requires, dt.date.today()).items()
               if v is not None}
        if step_id == "penyerahan_informasi":
            raw["salinan_informasi"] = [Upload("daftar penerima.pdf", PDF)]
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(activity.performers[0]), action_id, raw,
                                  expected_version=None, storage=storage)
    return case_id, code


def test_the_reporter_downloads_a_public_file_with_the_tracking_code(app, citizen, factory, registry, actor,
                                                                     uploads):
    case_id, code = _ppid_case(factory, registry, actor, Storage(uploads))
    with factory() as s:
        (row,) = s.scalars(select(Attachment).where(Attachment.case_id == case_id))
    page = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert f"/lacak/lampiran/{row.key}?kode={code}" in page and "daftar penerima.pdf" in page
    got = citizen.get(f"/lacak/lampiran/{row.key}?kode={code}")
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    # without the code, with another report's code, or with a wrong key: nothing
    assert citizen.get(f"/lacak/lampiran/{row.key}").status_code == 404
    assert citizen.get(f"/lacak/lampiran/{row.key}?kode=AAAA-BBBB-CCCC").status_code == 404
    assert citizen.get(f"/lacak/lampiran/{'a' * 32}?kode={code}").status_code == 404


def test_a_confidential_report_shows_no_file(factory, registry, actor, uploads):
    storage = Storage(uploads)
    case_id, code = _ppid_case(factory, registry, actor, storage, confidential=True)
    with factory() as s:
        (row,) = s.scalars(select(Attachment).where(Attachment.case_id == case_id))
        with pytest.raises(NotFound):
            attachments.for_reporter(s, registry, storage, code, row.key)


# -- sop check-db ----------------------------------------------------------------------------------
def test_check_db_finds_orphan_files_and_missing_ones(factory, registry, actor, uploads, capsys, monkeypatch, db_url):
    storage = Storage(uploads)
    case_id, _ = _ppid_case(factory, registry, actor, storage)
    with factory() as s:
        assert services.check_database(s, registry, uploads=uploads) == []
        (row,) = s.scalars(select(Attachment).where(Attachment.case_id == case_id))
    orphan = uploads / "ab" / ("ab" + "0" * 38)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(PDF)
    stale = uploads / attachments.STAGING / ("cd" + "1" * 38)
    stale.write_bytes(PDF)
    old = dt.datetime.now().timestamp() - 2 * 3600
    os.utime(stale, (old, old))
    storage.path(row.stored_name).unlink()
    with factory() as s:
        found = services.check_database(s, registry, uploads=uploads)
    assert any(f"ab/{orphan.name} is not named by any attachment row" in p for p in found), found
    assert any("was staged but never saved" in p for p in found), found
    assert any(f"attachment {row.id} of case {case_id}: its file is missing" in p for p in found), found

    from runner import cli

    monkeypatch.setenv("SOP_UPLOADS", str(uploads))
    assert cli.main(["check-db", "--database", db_url]) == 1
    assert "is not named by any attachment row" in capsys.readouterr().out
