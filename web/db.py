"""Database and registry for the app: one engine per process, one session per request.

Start-up (opening the database, loading and publishing definitions, the broken-file fallback) is the
runner's ``open_runtime`` service, the same one the CLI uses; this module only keeps its result on
the app and hands each request its session.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from runner.registry import Registry
from runner.services import Runtime, open_runtime


def init_app(app: Flask) -> None:
    runtime = open_runtime(app.config["SOP_DATABASE_URL"], app.config["SOP_DEFINITIONS"])
    app.extensions["sop"] = runtime
    app.teardown_appcontext(_close)
    app.context_processor(lambda: {"broken_definitions": runtime.broken})


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["sop"]
    return rt


def registry() -> Registry:
    return runtime().registry


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = runtime().factory()
    s: Session = g.db_session
    return s


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work on the request's session: committed on success, rolled back on error.

    Reads made earlier in the request (loading the user, say) autobegin a transaction that holds
    nothing to write; it is ended with a rollback — never committed — so the unit of work starts on
    fresh data and commits only what it wrote itself."""
    s = session()
    if s.in_transaction():
        if s.new or s.dirty or s.deleted:
            raise RuntimeError("unflushed changes outside a unit of work")  # a bug, never user input
        s.rollback()
    with s.begin():
        yield s


def _close(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()
