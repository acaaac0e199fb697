"""Engines, sessions and schema migrations.

The session's lifecycle belongs to the caller (a web request, a CLI command, a test), never to the
functions that manipulate data: they take a Session and leave committing to ``transaction()``.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConfigurationError
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
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        # Statement parameters hold reporters' data: never let an error message or log line carry them.
        kwargs.setdefault("hide_parameters", True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("hide_parameters", True)
    return create_engine(url, **kwargs)


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
