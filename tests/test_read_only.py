"""A read-only SQLite database opens for reading: a copy handed to an auditor, a backup mounted
read-only, a file someone chmod-ed 444.

The app and the ``sop`` commands start on it without writing (no WAL pragma, nothing published),
serve the definitions already stored in it, and refuse every write with ReadOnly — a 503 page that
says so, never a 500, and nothing changed on disk.

How the tests make a database read-only: they run as root in CI, and root ignores file permissions
(``chmod 444`` changes nothing for it; only a read-only mount would). So the end-to-end tests open
the database through the ``mode=ro`` URI form (``sqlite:///file:PATH?mode=ro&uri=true``), which is
SQLite's own read-only open — the same one a detected read-only file gets — and chmod the file and
its directory as well (restored in a ``finally``, so tmp clean-up works, and meaningful when the
suite runs as an ordinary user). The detection of a plain path (file or directory not writable) is
tested with ``os.access`` mocked, and, where the machine allows it, for real as user ``nobody``
(``setpriv``), the one test that sees the permissions themselves.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from conftest import REPORT
from runner.cli import main
from runner.errors import ConfigurationError, ReadOnly
from runner.services import open_runtime
from runner.store import Case, Definition, HistoryEntry, make_engine, read_only
from runner.store import db as store_db
from web_helpers import DEFINITIONS, REPO, Visitor, csrf_token, dispose, make_app, text_of

PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"
MESSAGE = "Instalasi ini hanya dapat dibaca; tidak ada yang dapat diubah."  # Bahasa Indonesia, the default
MESSAGE_EN = "This installation is read-only; nothing can be changed."
DEMO = [sys.executable, "-c", "import sys; from runner.cli import main; sys.exit(main())"]


def demo(db_path: Path, definitions: Path = DEFINITIONS) -> None:
    """``sop demo`` in its own process, so every connection (and the WAL's side files) is closed
    when it returns — as for a database copied off a stopped server."""
    subprocess.run([*DEMO, "demo", "--database", f"sqlite:///{db_path}", "--definitions", str(definitions)],
                   check=True, capture_output=True, cwd=REPO)


def file_report(db_path: Path) -> str:
    """File one public report on the writable database; its tracking code."""
    app = make_app(f"sqlite:///{db_path}")
    try:
        visitor = Visitor(app)
        r = visitor.submit(PUBLIC_FORM, REPORT, control="nonce")
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
        code = text_of(visitor.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
        assert code
        return code
    finally:
        dispose(app)


def ro_url(db_path: Path) -> str:
    return f"sqlite:///file:{db_path}?mode=ro&uri=true"


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file of the folder and a hash of its bytes: equal before and after means nothing was written."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@contextmanager
def read_only_on_disk(db_path: Path):
    """chmod the database 444 and its directory 555 (no effect for root; see the module docstring)."""
    file_mode, dir_mode = db_path.stat().st_mode, db_path.parent.stat().st_mode
    db_path.chmod(0o444)
    db_path.parent.chmod(0o555)
    try:
        yield
    finally:
        db_path.parent.chmod(stat.S_IMODE(dir_mode))
        db_path.chmod(stat.S_IMODE(file_mode))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def demo_db(tmp_path) -> tuple[Path, str]:
    """A demo database with one public report filed: (path, the report's tracking code)."""
    folder = tmp_path / "copy"
    folder.mkdir()
    path = folder / "sop.db"
    demo(path)
    return path, file_report(path)


# -- the app ----------------------------------------------------------------------------------------
def test_the_app_serves_a_read_only_copy_and_refuses_every_write(demo_db, caplog, capsys):
    path, code = demo_db
    before = fingerprint(path.parent)
    assert not any(name.endswith(("-wal", "-shm")) for name in before)  # a clean copy of a WAL database
    with read_only_on_disk(path):
        caplog.set_level(logging.INFO)
        app = make_app(ro_url(path))
        try:
            runtime = app.extensions["sop"]
            assert runtime.read_only == "mode=ro"
            # no -shm, no -wal and a read-only directory: only immutable=1 opens a clean WAL copy
            assert runtime.engine.url.query.get("immutable") == "1"
            warnings = [r for r in caplog.records if getattr(r, "event", None) == "startup.read_only"]
            assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
            assert not any(getattr(r, "event", None) == "definition.published" for r in caplog.records)
            assert runtime.registry.get("laporisp4n") is not None  # served from what is stored

            with runtime.factory() as s:
                case_id = s.scalar(select(Case.id).where(Case.tracking_code == code))
                case_version = s.get(Case, case_id).version
                history = s.scalar(select(func.count()).select_from(HistoryEntry))

            admin = Visitor(app)
            admin.login("admin_utama")  # signing in reads, and writes nothing
            assert case_id in admin.inbox_ids()
            page = admin.get(f"/kasus/{case_id}")
            assert page.status_code == 200

            r = admin.act(case_id, "simpan", {"kanal": "web", "kategori": "Infrastruktur"}, page=page)
            assert r.status_code == 503
            assert text_of(r.get_data(as_text=True), "error-message") == MESSAGE

            citizen = Visitor(app)  # a new report is a write too
            r = citizen.submit(PUBLIC_FORM, REPORT, control="nonce")
            assert r.status_code == 503 and MESSAGE in r.get_data(as_text=True)
            assert citizen.get(f"/lacak?kode={code}").status_code == 200  # tracking is a read

            assert Visitor(app).login("kadis").status_code == 302  # and another login still works
            admin.logout()  # this browser is signed out even though no session epoch can be bumped
            assert admin.get("/kotak-masuk").status_code == 302

            with runtime.factory() as s:
                assert s.get(Case, case_id).version == case_version
                assert s.scalar(select(func.count()).select_from(HistoryEntry)) == history
        finally:
            dispose(app)

        assert run(capsys, "check-db", "--database", ro_url(path))[:2] == (0, "OK\n")
        status, out, _ = run(capsys, "diagram", str(DEFINITIONS / "laporisp4n.yaml"), "--case", str(case_id),
                             "--database", ro_url(path))
        assert status == 0 and "stateDiagram" in out
    assert fingerprint(path.parent) == before  # not a byte written, no side file left behind


def test_the_refusal_in_english(demo_db):
    path, _ = demo_db
    app = make_app(ro_url(path))
    try:
        citizen = Visitor(app)
        page = citizen.get(PUBLIC_FORM).get_data(as_text=True)
        assert citizen.post("/bahasa/en", {"csrf_token": csrf_token(page)}).status_code == 302
        r = citizen.submit(PUBLIC_FORM, REPORT, control="nonce")
        assert r.status_code == 503
        assert text_of(r.get_data(as_text=True), "error-message") == MESSAGE_EN
    finally:
        dispose(app)


# -- the commands -----------------------------------------------------------------------------------
def test_commands_that_write_refuse_a_read_only_database(demo_db, capsys):
    path, _ = demo_db
    before = fingerprint(path.parent)
    args = ["--database", ro_url(path), "--definitions", str(DEFINITIONS)]
    for command in (["load"], ["demo"], ["tick"], ["unit", "add", "zz", "Unit ZZ"],
                    ["user", "add", "u1", "--role", "kadis"], ["user", "disable", "kadis"]):
        status, out, err = run(capsys, *command, *args)  # user add: refused before asking a password
        assert status == 1, command
        assert f"error: the database file:{path} is read-only (mode=ro); this command writes to it" in err, err
    assert fingerprint(path.parent) == before


# -- which definitions a read-only start serves ---------------------------------------------------
def test_a_read_only_start_serves_what_is_stored_and_publishes_nothing(tmp_path, caplog):
    """A file whose version is stored is served; a file edited since runs on its last stored version;
    an SOP never published is not served — nothing can be published."""
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    shutil.copy(DEFINITIONS / "laporisp4n.yaml", definitions)
    path = tmp_path / "db" / "sop.db"
    path.parent.mkdir()
    demo(path, definitions)
    stored = open_runtime(f"sqlite:///{path}", definitions).registry.get("laporisp4n")
    assert stored is not None
    lapor = definitions / "laporisp4n.yaml"
    lapor.write_text(re.sub(r"(?m)^(title:\n  id: )(.*)$", r"\1\2 (revisi)", lapor.read_text(encoding="utf-8"),
                            count=1), encoding="utf-8")
    shutil.copy(REPO / "docs" / "examples" / "permohonan_informasi.yaml", definitions)

    caplog.set_level(logging.INFO)
    runtime = open_runtime(ro_url(path), definitions)
    try:
        assert runtime.read_only == "mode=ro"
        served = runtime.registry.get("laporisp4n")
        assert served is not None and served.version == stored.version  # the stored one, not the edit
        assert runtime.registry.get("permohonan_informasi") is None
        events = {(r.event, r.fields.get("file"), r.fields.get("reason")) for r in caplog.records
                  if hasattr(r, "event")}
        assert ("definition.fallback", "laporisp4n.yaml", "unpublished") in events
        assert ("definition.not_served", "permohonan_informasi.yaml", "unpublished") in events
        assert not any(e == "definition.published" for e, _, _ in events)
        with runtime.factory() as s:
            assert s.scalar(select(func.count()).select_from(Definition)) == 1
    finally:
        runtime.engine.dispose()


# -- detecting a read-only file ---------------------------------------------------------------------
def deny_writes(monkeypatch, *denied: Path) -> None:
    """os.access as if this process may not write ``denied`` (root may write anything)."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).resolve() in {p.resolve() for p in denied}:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(store_db.os, "access", access)


def make_db(path: Path, *, wal: bool) -> None:
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    connection.close()  # the last connection of a WAL database removes its -wal and -shm


def test_detection_of_a_plain_path(tmp_path, monkeypatch):
    path = tmp_path / "x.db"
    reason = lambda url: store_db.sqlite_read_only(make_url(url))  # noqa: E731
    assert reason(f"sqlite:///{path}") is None  # not there yet: it is created, as ever
    make_db(path, wal=True)
    assert reason(f"sqlite:///{path}") is None
    assert reason("sqlite://") is None and reason("sqlite:///:memory:") is None
    assert reason(f"sqlite:///file:{path}?mode=ro&uri=true") == "mode=ro"
    assert reason(f"sqlite:///file:{path}?immutable=1&uri=true") == "mode=ro"
    assert reason(f"sqlite:///file:{path}?cache=shared&uri=true") is None
    deny_writes(monkeypatch, tmp_path)
    assert reason(f"sqlite:///{path}") == "directory-not-writable"
    deny_writes(monkeypatch, path)
    assert reason(f"sqlite:///{path}") == "file-not-writable"


@pytest.mark.parametrize("wal", [True, False])
def test_a_file_that_may_not_be_written_opens_read_only(tmp_path, monkeypatch, wal):
    path = tmp_path / "x.db"
    make_db(path, wal=wal)
    before = fingerprint(tmp_path)
    deny_writes(monkeypatch, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert read_only(engine) == "file-not-writable"
        assert engine.url.query.get("mode") == "ro"
        assert (engine.url.query.get("immutable") == "1") is wal  # a rollback-journal file needs no side files
        with engine.connect() as c:
            assert c.execute(text("SELECT x FROM t")).scalar() == 1
        with pytest.raises(ReadOnly), engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        engine.dispose()
    assert fingerprint(tmp_path) == before


def test_a_live_wal_database_is_read_with_its_wal(tmp_path, monkeypatch):
    """With its -wal and -shm next to it (a copy of a running server's files), the newest commits,
    still only in the -wal, are read: no immutable=1, which would ignore them."""
    path = tmp_path / "x.db"
    make_db(path, wal=True)
    writer = sqlite3.connect(path)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("INSERT INTO t VALUES (2)")
        writer.commit()
        assert Path(f"{path}-wal").stat().st_size > 0 and Path(f"{path}-shm").exists()
        deny_writes(monkeypatch, tmp_path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            assert read_only(engine) == "directory-not-writable" and "immutable" not in engine.url.query
            with engine.connect() as c:
                assert c.execute(text("SELECT count(*) FROM t")).scalar() == 2
        finally:
            engine.dispose()
    finally:
        writer.close()


def test_a_wal_without_its_shm_in_a_read_only_directory_is_refused_with_a_hint(tmp_path, monkeypatch):
    path = tmp_path / "x.db"
    make_db(path, wal=True)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO t VALUES (2)")
    writer.commit()
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(path, copy / "x.db")
    shutil.copy(f"{path}-wal", copy / "x.db-wal")  # copied without its -shm
    writer.close()
    deny_writes(monkeypatch, copy)
    with pytest.raises(ConfigurationError, match="x.db-wal holds changes") as caught:
        make_engine(f"sqlite:///{copy / 'x.db'}")
    assert "writable directory" in caught.value.hint


# -- for real, as an ordinary user ----------------------------------------------------------------
def _nobody() -> list[str] | None:
    """The command prefix that runs a process as user nobody, when this machine allows it."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import runner"], cwd=REPO, capture_output=True)
    return prefix if probe.returncode == 0 else None


def test_real_permissions_as_an_ordinary_user(tmp_path):
    """chmod 444 and 555 as the permissions an ordinary account meets; root would ignore them."""
    prefix = _nobody()
    if prefix is None:
        pytest.skip("needs root, setpriv and a checkout user nobody may read")
    top = Path(tempfile.mkdtemp(prefix="sop-ro-"))  # tmp_path's parents are closed to other users
    top.chmod(0o755)
    path = top / "sop.db"
    try:
        demo(path)
        before = fingerprint(top)
        with read_only_on_disk(path):
            def sop(*argv: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run([*prefix, *DEMO, *argv], cwd=REPO, capture_output=True, text=True,
                                      env={**os.environ, "HOME": str(top),
                                           "SOP_UPLOADS": str(top / "uploads")})  # the test's own is root's

            checked = sop("check-db", "--database", f"sqlite:///{path}")
            assert (checked.returncode, checked.stdout) == (0, "OK\n"), checked.stderr
            refused = sop("unit", "add", "zz", "Unit ZZ", "--database", f"sqlite:///{path}",
                          "--definitions", str(DEFINITIONS))
            assert refused.returncode == 1
            assert f"error: the database {path} is read-only (file-not-writable); this command writes to it" \
                in refused.stderr, refused.stderr
        assert fingerprint(top) == before
    finally:
        shutil.rmtree(top, ignore_errors=True)
