"""The loaded definitions and their engines, built once per version and reused.

Building a ``transitions`` Machine is the expensive part of interpreting an SOP, so each version's
Engine is cached here by its content hash. Old versions still referenced by running cases are
rebuilt from the source text stored in the database the first time one of their cases is touched.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable

from .definition import Sop, load_file, load_text
from .engine import Engine
from .errors import ConfigurationError, DefinitionError


class Registry:
    def __init__(self, sops: Iterable[Sop] = (), sources: dict[str, str] | None = None):
        self._current: dict[str, Sop] = {}
        self._sources: dict[str, str] = dict(sources or {})
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        for sop in sops:
            if sop.id in self._current:
                raise ConfigurationError(
                    f"two definitions share the id '{sop.id}': {self._current[sop.id].source_path} and {sop.source_path}"
                )
            self._current[sop.id] = sop
            self._engines[sop.version] = Engine(sop)

    @classmethod
    def from_directory(cls, directory: str | Path) -> "Registry":
        """Load every ``*.yaml``/``*.yml`` file; report the problems of all files together."""
        root = Path(directory)
        if not root.is_dir():
            raise ConfigurationError(f"SOP_DEFINITIONS '{root}' is not a directory")
        sops, sources, problems = [], {}, []
        for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
            try:
                sop = load_file(path)
            except DefinitionError as exc:
                problems.extend(exc.problems)
                continue
            sops.append(sop)
            sources[sop.version] = path.read_text(encoding="utf-8")
        if problems:
            raise DefinitionError(problems)
        return cls(sops, sources)

    def current(self) -> tuple[Sop, ...]:
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

    def engine_for_version(self, version: str, source: str, path: str = "<database>") -> Engine:
        """The engine of a stored version (a case's), rebuilding it from ``source`` when not cached."""
        engine = self._engines.get(version)
        if engine is None:
            sop = load_text(source, path)
            with self._lock:
                engine = self._engines.setdefault(version, Engine(sop))
        return engine
