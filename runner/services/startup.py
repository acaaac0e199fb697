"""Starting up: the one policy for opening the database and loading the definitions directory.

The app and every CLI command that touches cases start here, so they agree on what a broken file
means. A definition file that no longer loads keeps its SOP running on the newest version published
before it (logged, and shown to staff as a banner), because an admin saving a broken revision must
not take the service down; ``strict`` (``sop load``, ``sop demo``) refuses instead, so a broken file
is never published. Nothing loading at all, or a database without tables, is a ConfigurationError
or DefinitionError whose message ends with what to do.

A read-only SQLite database (``runner.store.db``: a copy, a read-only mount, ``mode=ro``) opens for
reading: nothing is published, each file whose version is already stored is served, every other SOP
runs on its newest stored version (as a broken file's does), and ``startup.read_only`` is logged.
Commands that open it to write (``writes``, ``strict``, ``migrate``: ``sop load``, ``sop tick``...)
refuse it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, inspect, make_url
from sqlalchemy.orm import Session, sessionmaker

from ..definition import Problem, Sop
from ..errors import ConfigurationError, DefinitionError, ReadOnly
from ..logs import event
from ..registry import Registry, scan_directory
from ..store import make_engine, read_only, session_factory, upgrade
from .publishing import last_good_versions, publish_all, unpublished

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a process needs to serve cases: the database, its sessions and the loaded definitions."""

    engine: Engine
    factory: sessionmaker[Session]
    registry: Registry
    problems: list[Problem] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # file names that do not load
    read_only: str | None = None  # why the database is read-only (every write raises ReadOnly)


def open_runtime(database_url: str, definitions: str | Path, *, strict: bool = False,
                 migrate: bool = False, writes: bool = False, import_files: bool = True) -> Runtime:
    """Open the database, load and publish the definitions; see the module docstring.

    Problems that stop the start are raised, not logged (the caller prints or logs them once);
    problems the start survives (a broken file served on its last good version) are logged here.
    ``writes`` (implied by ``strict`` and ``migrate``): the caller opens the database to write to it,
    so a read-only one is refused (ReadOnly) before anything else, not at its first write.
    ``import_files`` False (``sop publish``): the files are read but not imported, so a revision
    given on the command line is planned and refused or published only by that command."""
    scan = scan_directory(definitions)
    if strict and scan.problems:
        raise DefinitionError(scan.problems)
    engine = make_engine(database_url)
    where = make_url(database_url).render_as_string(hide_password=True)  # as given, not as opened
    reason = read_only(engine)
    if reason and (strict or migrate or writes):
        engine.dispose()
        raise ReadOnly(f"the database {make_url(database_url).database} is read-only ({reason}); "
                       "this command writes to it")
    if migrate:
        upgrade(engine)
    elif not inspect(engine).has_table("cases"):
        raise ConfigurationError(f"the database {where} has no SOP Runner tables",
                                 hint="run `sop db upgrade` (or `make run` for a demo)")
    factory = session_factory(engine)
    with factory() as session, session.begin():
        served, stale = scan.sops, []  # stale: sound files whose version a read-only database lacks
        if reason:
            stale = unpublished(session, scan.sops)
            missing = {sop.version for sop in stale}
            served = [sop for sop in scan.sops if sop.version not in missing]
        fallbacks = _one_per_id(served, last_good_versions(
            session, [*scan.broken, *((sop.source_path, sop.id) for sop in stale)]))
        registry = Registry([*served, *(sop for sop, _ in fallbacks)],
                            {**scan.sources, **{sop.version: source for sop, source in fallbacks}})
        if not reason and import_files:
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
    if reason:
        for sop in stale:
            if sop.source_path in kept:
                event(log, "definition.fallback", logging.WARNING, file=Path(sop.source_path).name,
                      version=kept[sop.source_path].version[:12], reason="unpublished")
            else:
                event(log, "definition.not_served", logging.WARNING, file=Path(sop.source_path).name,
                      reason="unpublished")
        event(log, "startup.read_only", logging.WARNING, database=engine.url.database, reason=reason,
              immutable=engine.url.query.get("immutable") == "1", sops=len(registry.current()),
              unpublished=len(stale))
    event(log, "startup.ready", sops=len(registry.current()), broken=len(scan.broken))
    return Runtime(engine, factory, registry, scan.problems, [Path(p).name for p, _ in scan.broken], reason)


def _one_per_id(served: list[Sop], fallbacks: list[tuple[Sop, str]]) -> list[tuple[Sop, str]]:
    """The fallbacks for SOPs no sound file serves, one per SOP id.

    A broken file can declare the id of a sound file (a copy being edited), and two broken files can
    declare the same id; the sound file wins, then the first broken file (in sorted order)."""
    taken = {sop.id for sop in served}
    kept = []
    for sop, source in fallbacks:
        if sop.id not in taken:
            taken.add(sop.id)
            kept.append((sop, source))
    return kept
