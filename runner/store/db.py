"""Engines, sessions and schema migrations.

The session's lifecycle belongs to the caller (a web request, a CLI command, a test), never to the
functions that manipulate data: they take a Session and leave committing to ``transaction()``.

A SQLite file this process may not write (or one named ``mode=ro``) is opened read-only; any write
the database refuses as read-only raises ReadOnly (see "read-only SQLite" below).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import unquote, urlsplit
from urllib.request import pathname2url

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConfigurationError, ReadOnly
from ..settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from alembic.config import Config

# Alembic's package-resource form ("package:directory"), resolved with importlib.resources, so an
# installed wheel finds its migrations wherever it lives (package data, see pyproject.toml).
MIGRATIONS = "runner.store:migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"SOP_DATABASE_URL '{url}' is not a database URL "
                                 "(try sqlite:///instance/sop.db or postgresql+psycopg://user@host/db)") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        reason = sqlite_read_only(parsed)
        if reason:
            parsed = _read_only_url(parsed)
        elif database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        # Statement parameters hold reporters' data: never let an error message or log line carry them.
        kwargs.setdefault("hide_parameters", True)
        if reason:
            kwargs["execution_options"] = {**kwargs.get("execution_options", {}), READ_ONLY: reason}
        engine = create_engine(parsed, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if database and database != ":memory:" and not reason:  # WAL would be a write
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        event.listen(engine, "handle_error", _refuse_read_only)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("hide_parameters", True)
    return create_engine(url, **kwargs)


# -- read-only SQLite --------------------------------------------------------------------------
# A database handed to an auditor, a backup mounted read-only, a file someone chmod-ed 444: it opens
# for reading (sqlite3 ``mode=ro``) and every write is refused with ReadOnly, never half-done.
READ_ONLY = "sop_read_only"  # the engine's execution option holding why it is read-only


def read_only(engine: Engine) -> str | None:
    """Why ``engine`` was opened read-only — ``mode=ro`` (the URL says so), ``file-not-writable``,
    ``directory-not-writable`` — or None when it was not."""
    reason = engine.get_execution_options().get(READ_ONLY)
    return reason if isinstance(reason, str) else None


def _is_uri(parsed: URL) -> bool:
    """``sqlite:///file:path?mode=ro&uri=true``: the database is a SQLite URI, not a file name."""
    return str(parsed.query.get("uri", "")).lower() in ("true", "1") and (parsed.database or "").startswith("file:")


def _uri_path(database: str) -> Path:
    """The file a ``file:`` URI names (its query string is already split off by SQLAlchemy)."""
    return Path(unquote(urlsplit(database).path))


def sqlite_read_only(parsed: URL) -> str | None:
    """Why this SQLite database must be opened read-only, or None to open it as usual.

    The URI form says so itself (``mode=ro`` or ``immutable=1``). A plain file is read-only when it
    exists and this process may not write it, or may not write its directory — SQLite creates its
    journal (or the WAL's -wal and -shm files) there, so no write could succeed. A file that does not
    exist yet is not read-only: it is created, as ever."""
    database = parsed.database
    if not database or database == ":memory:":
        return None
    if _is_uri(parsed):
        if parsed.query.get("mode") == "ro" or parsed.query.get("immutable") == "1":
            return "mode=ro"
        return None
    path = Path(database)
    if not path.is_file():
        return None
    if not os.access(path, os.W_OK):
        return "file-not-writable"
    if not os.access(path.parent, os.W_OK):
        return "directory-not-writable"
    return None


def _read_only_url(parsed: URL) -> URL:
    """The ``mode=ro`` URI of the database, ``immutable=1`` added when a WAL database needs it.

    A WAL-mode database opens read-only only if its -shm and -wal files exist or can be created
    (SQLite 3.22+), so a clean copy of one (the last connection deletes both) in a read-only directory
    cannot be opened with ``mode=ro`` alone. ``immutable=1`` tells SQLite the file cannot change: no
    locks, no side files — and the -wal file ignored, so it is used only when there is no -shm file and
    the -wal is missing or empty (no live writer has the database open: a writer keeps its -shm). A
    non-empty -wal without its -shm in a read-only directory cannot be read at all: refused."""
    database = parsed.database or ""
    uri = _is_uri(parsed)
    path = _uri_path(database) if uri else Path(database).resolve()
    query = dict(parsed.query) if uri else {}
    query.update(mode="ro", uri="true")
    if _wal_mode(path) and not Path(f"{path}-shm").exists():
        wal = Path(f"{path}-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            query.setdefault("immutable", "1")
        elif not os.access(path.parent, os.W_OK):
            raise ConfigurationError(
                f"the SQLite database {path} is read-only and its {wal.name} holds changes that cannot be "
                f"read without its -shm file", hint=f"copy {path.name} and {wal.name} to a writable directory")
    return parsed.set(database=database if uri else f"file:{pathname2url(str(path))}", query=query)


def _wal_mode(path: Path) -> bool:
    """Whether the file's header says WAL (bytes 18 and 19 of the SQLite header are 2)."""
    try:
        with path.open("rb") as f:
            header = f.read(20)
    except OSError:
        return False  # unreadable: SQLite says so when it opens it
    return len(header) == 20 and header[18] == 2 and header[19] == 2


def _refuse_read_only(context: ExceptionContext) -> None:
    """A write the database refused as read-only becomes ReadOnly (the web shows a 503 page saying
    so); the unit of work it was part of rolls back, as on any error."""
    error = context.original_exception
    if isinstance(error, sqlite3.OperationalError) and getattr(error, "sqlite_errorname", "").startswith(
            "SQLITE_READONLY"):
        raise ReadOnly("the database is read-only; nothing was written")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    from alembic.config import Config  # imported on use: most commands never migrate

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (also creates it on an empty database)."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), revision)


def default_url() -> str:
    """The database the settings name (``SOP_DATABASE_URL``, else SQLite under the instance folder)."""
    return Settings.from_env().database_url
