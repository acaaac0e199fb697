"""Database and registry for the app: one engine per process, one session per request."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from runner.errors import ConfigurationError, DefinitionError
from runner.registry import Registry, scan_directory
from runner.services import last_good_versions, publish_all
from runner.store import make_engine, session_factory


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["SOP_DATABASE_URL"])
    if not inspect(engine).has_table("cases"):
        raise ConfigurationError(f"the database {engine.url.render_as_string(hide_password=True)} has no "
                                 "SOP Runner tables; run `sop db upgrade` (or `make run` for a demo)")
    scan = scan_directory(app.config["SOP_DEFINITIONS"])
    factory = session_factory(engine)
    with factory() as session, session.begin():
        fallbacks = last_good_versions(session, scan.broken)
        registry = Registry([*scan.sops, *(sop for sop, _ in fallbacks)],
                            {**scan.sources, **{sop.version: source for sop, source in fallbacks}})
        publish_all(session, registry)
    if scan.problems and not registry.current():
        raise DefinitionError(scan.problems)
    for problem in scan.problems:
        app.logger.error("%s", problem.format())
    kept = {sop.source_path: sop for sop, _ in fallbacks}
    for path, _ in scan.broken:
        if path in kept:
            app.logger.warning("%s does not load; running its last valid version %s", path, kept[path].version[:12])
        else:
            app.logger.warning("%s does not load and was never published; it is not served", path)
    app.extensions["sop"] = {"engine": engine, "factory": factory, "registry": registry,
                             "broken": [Path(p).name for p, _ in scan.broken]}
    app.teardown_appcontext(_close)
    app.context_processor(lambda: {"broken_definitions": app.extensions["sop"]["broken"]})


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
