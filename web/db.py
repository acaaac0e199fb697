"""Database and registry for the app: one engine per process, one session per request."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from runner.errors import ConfigurationError
from runner.registry import Registry
from runner.services import publish_all
from runner.store import make_engine, session_factory


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["SOP_DATABASE_URL"])
    if not inspect(engine).has_table("cases"):
        raise ConfigurationError(f"the database {engine.url.render_as_string(hide_password=True)} has no "
                                 "SOP Runner tables; run `sop db upgrade` (or `make run` for a demo)")
    registry = Registry.from_directory(app.config["SOP_DEFINITIONS"])
    factory = session_factory(engine)
    with factory() as session, session.begin():
        publish_all(session, registry)
    app.extensions["sop"] = {"engine": engine, "factory": factory, "registry": registry}
    app.teardown_appcontext(_close)


def registry() -> Registry:
    return current_app.extensions["sop"]["registry"]


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["sop"]["factory"]()
    return g.db_session


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work on the request's session: committed on success, rolled back on error."""
    s = session()
    if s.in_transaction():
        s.commit()
    with s.begin():
        yield s


def _close(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()
