"""Starting up: the one policy for opening the database and loading the definitions directory.

The app and every CLI command that touches cases start here, so they agree on what a broken file
means. A definition file that no longer loads keeps its SOP running on the newest version published
before it (logged, and shown to staff as a banner), because an admin saving a broken revision must
not take the service down; ``strict`` (``sop load``, ``sop demo``) refuses instead, so a broken file
is never published. Nothing loading at all, or a database without tables, is a ConfigurationError
or DefinitionError whose message ends with what to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from ..definition import Problem
from ..errors import ConfigurationError, DefinitionError
from ..logs import event
from ..registry import Registry, scan_directory
from ..store import make_engine, session_factory, upgrade
from .publishing import last_good_versions, publish_all

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a process needs to serve cases: the database, its sessions and the loaded definitions."""

    engine: Engine
    factory: sessionmaker[Session]
    registry: Registry
    problems: list[Problem] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # file names that do not load


def open_runtime(database_url: str, definitions: str | Path, *, strict: bool = False,
                 migrate: bool = False) -> Runtime:
    """Open the database, load and publish the definitions; see the module docstring.

    Problems that stop the start are raised, not logged (the caller prints or logs them once);
    problems the start survives (a broken file served on its last good version) are logged here."""
    scan = scan_directory(definitions)
    if strict and scan.problems:
        raise DefinitionError(scan.problems)
    engine = make_engine(database_url)
    where = engine.url.render_as_string(hide_password=True)
    if migrate:
        upgrade(engine)
    elif not inspect(engine).has_table("cases"):
        raise ConfigurationError(f"the database {where} has no SOP Runner tables",
                                 hint="run `sop db upgrade` (or `make run` for a demo)")
    factory = session_factory(engine)
    with factory() as session, session.begin():
        fallbacks = last_good_versions(session, scan.broken)
        registry = Registry([*scan.sops, *(sop for sop, _ in fallbacks)],
                            {**scan.sources, **{sop.version: source for sop, source in fallbacks}})
        publish_all(session, registry)
    if scan.problems and not registry.current():
        raise DefinitionError(scan.problems)
    for problem in scan.problems:
        log.error("%s", problem.format())
    kept = {sop.source_path: sop for sop, _ in fallbacks}
    for path, _ in scan.broken:
        if path in kept:
            event(log, "definition.fallback", logging.WARNING, file=Path(path).name,
                  version=kept[path].version[:12])
        else:
            event(log, "definition.not_served", logging.WARNING, file=Path(path).name)
    event(log, "startup.ready", sops=len(registry.current()), broken=len(scan.broken))
    return Runtime(engine, factory, registry, scan.problems, [Path(p).name for p, _ in scan.broken])
