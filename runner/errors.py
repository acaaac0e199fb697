"""Every exception SOP Runner raises on purpose, in one tree, so callers can catch at the right depth.

    SopError
    ├── DefinitionError            a definition file has problems (carries every Problem at once)
    ├── NotFound                   no such case, tracking code, user or definition
    ├── NotAllowed                 this user may not do this (wrong role, wrong unit, not their turn)
    ├── InvalidForm                form data failed the step's field rules (carries per-field messages)
    ├── CaseMovedOn                the case changed since the user loaded it (stale form, lost race)
    └── ConfigurationError         the installation itself is wrong (bad URL, missing directory)

The web layer maps NotFound→404, NotAllowed→403, InvalidForm→400 (form shown again),
CaseMovedOn→409; the CLI prints the message and exits non-zero. None of them is ever shown as a
traceback to a user.
"""

from __future__ import annotations

from typing import Mapping


class SopError(Exception):
    """Base of every deliberate SOP Runner error."""


class DefinitionError(SopError):
    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


class NotFound(SopError):
    pass


class NotAllowed(SopError):
    pass


class InvalidForm(SopError):
    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class CaseMovedOn(SopError):
    pass


class ConfigurationError(SopError):
    pass
