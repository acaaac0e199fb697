"""The loaded definitions and their engines, built once per version and reused.

Building a ``transitions`` Machine is the expensive part of interpreting an SOP, so each version's
Engine is cached here by its content hash. Old versions still referenced by running cases are
rebuilt from the source text stored in the database the first time one of their cases is touched —
as trusted history (``definition.stored``), never re-validated by this release's rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from . import yamlsource
from .definition import Problem, Sop, duplicate_id, load_text, read_source
from .definition.stored import FORMAT, load_stored
from .engine import Engine
from .errors import ConfigurationError, DefinitionError, StoredVersionError


@dataclass
class DirectoryScan:
    """What a definitions directory holds: the sound files, and the problems of the others."""

    sops: list[Sop] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    broken: list[tuple[str, str | None]] = field(default_factory=list)  # (path, SOP id if readable)


def scan_directory(directory: str | Path) -> DirectoryScan:
    root = Path(directory)
    if not root.is_dir():
        raise ConfigurationError(f"SOP_DEFINITIONS '{root}' is not a directory")
    scan = DirectoryScan()
    owners: dict[str, str] = {}  # SOP id -> the file that loaded it first
    for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
        text = None
        try:
            text = read_source(path)  # refuses an oversized file before reading it
            sop = load_text(text, str(path))
        except DefinitionError as exc:
            scan.problems.extend(exc.problems)
            scan.broken.append((str(path), _declared_id(text)))
            continue
        if sop.id in owners:
            # A second file with the same id is a broken file, not a reason to stop: the first keeps
            # its id, and this one falls back to what was last published from its own path.
            scan.problems.append(duplicate_id(str(path), text, sop.id, owners[sop.id]))
            scan.broken.append((str(path), None))
            continue
        owners[sop.id] = str(path)
        scan.sops.append(sop)
        scan.sources[sop.version] = text
    return scan


def _declared_id(text: str | None) -> str | None:
    """The ``id:`` a broken file declares, when its YAML can still be read at all."""
    if text is None:
        return None
    try:
        data, _ = yamlsource.load(text)
    except yamlsource.YamlSyntaxError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


class Registry:
    def __init__(self, sops: Iterable[Sop] = (), sources: dict[str, str] | None = None):
        self._current: dict[str, Sop] = {}
        self._sources: dict[str, str] = dict(sources or {})
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        for sop in sops:
            # A programming error, not an admin's: scan_directory turns a file repeating an id into a
            # broken file, and the start-up service never adds a fallback for an id already served.
            if sop.id in self._current:
                raise ConfigurationError(
                    f"two definitions share the id '{sop.id}': {self._current[sop.id].source_path} and {sop.source_path}"
                )
            self._current[sop.id] = sop
            self._engines[sop.version] = Engine(sop)

    @classmethod
    def from_directory(cls, directory: str | Path) -> "Registry":
        """Load every ``*.yaml``/``*.yml`` file; report the problems of all files together."""
        loaded = scan_directory(directory)
        if loaded.problems:
            raise DefinitionError(loaded.problems)
        return cls(loaded.sops, loaded.sources)

    def current(self) -> tuple[Sop, ...]:
        """The definitions *loaded from files* at start-up (imported when their text is new). Not the
        current versions: the database decides those (``services.publishing.current_sops``)."""
        return tuple(self._current.values())

    def get(self, sop_id: str) -> Sop | None:
        return self._current.get(sop_id)

    def source(self, sop: Sop) -> str:
        return self._sources[sop.version]

    def engine(self, sop: Sop) -> Engine:
        engine = self._engines.get(sop.version)
        if engine is None:
            with self._lock:
                engine = self._engines.setdefault(sop.version, Engine(sop))
        return engine

    def cached(self, version: str) -> Engine | None:
        """The engine of ``version`` if this process has built it already (no text needed)."""
        return self._engines.get(version)

    def engine_for_version(self, version: str, source: str, path: str = "<database>", fmt: int = FORMAT) -> Engine:
        """The engine of a stored version (a case's), rebuilding it from ``source`` when not cached.

        Raises StoredVersionError only when the stored text cannot be read at all."""
        engine = self._engines.get(version)
        if engine is None:
            sop = load_stored(source, fmt, path)
            try:
                built = Engine(sop)
            except (ValueError, KeyError, TypeError) as exc:  # a text never valid (edited in the database)
                raise StoredVersionError([Problem(path, 1, 1, f"the stored version cannot be run ({exc})")]) from None
            with self._lock:
                engine = self._engines.setdefault(version, built)
        return engine
