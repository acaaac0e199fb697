"""Every exception SOP Runner raises on purpose, in one tree, so callers can catch at the right depth.

    SopError
    ├── DefinitionError            a definition file has problems (carries every Problem at once)
    │   └── StoredVersionError     a version stored for running cases cannot be read at all
    ├── NotFound                   no such case, tracking code, user or definition — or one the
    │                              actor may not see (the two are indistinguishable on purpose)
    ├── NotAllowed                 this user may not do this (wrong role, wrong unit, not their turn)
    ├── InvalidForm                form data failed the step's field rules (carries per-field messages)
    ├── InvalidInput               a value given to a command or service is unacceptable
    │                              (a username, a password, an unknown role)
    ├── RevisionRefused            a revision would strand running cases (nothing was published)
    ├── CaseMovedOn                the case changed since the user loaded it (stale form, lost race)
    │   └── AlreadyResponded       the reporter already responded to the answer (once only)
    ├── StorageError               the database refused a write for a reason other than a race
    │   └── ReadOnly               the database was opened read-only (a copy, a read-only mount):
    │                              nothing can be written, by design
    └── ConfigurationError         the installation itself is wrong (bad URL, missing directory,
                                   no tables, no definition that loads); carries a hint

Nothing else escapes ``runner`` on purpose: a standard exception leaving a service is a bug.
The web layer maps NotFound→404, NotAllowed→403, InvalidForm/InvalidInput→400 (form shown again),
CaseMovedOn→409, StorageError (ReadOnly with its own message) and StoredVersionError→503 with a
readable page; the CLI prints the message (and hint) and exits non-zero. None of them is ever
shown to a user as a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover - typing only; problems.py imports nothing from here
    from .definition.model import Text
    from .definition.problems import Problem
    from .forms import FieldError


class SopError(Exception):
    """Base of every deliberate SOP Runner error."""


class DefinitionError(SopError):
    """A definition has problems; ``problems`` holds all of them, each with its position."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


class StoredVersionError(DefinitionError):
    """A definition version stored in the database (one running cases point at) cannot be read.

    Stored versions are trusted history and are never re-validated; this is raised only when the text
    is unreadable at all (corrupt, or written by a newer release's format)."""


class NotFound(SopError):
    """Nothing by that name — or nothing this actor may see, which must look exactly the same."""


class NotAllowed(SopError):
    """The actor may not do this. ``roles`` and ``unit`` say who may, for a message that helps.

    ``roles`` are role names as the definition gives them (display text, bilingual or not): the web
    layer words them in the reader's language; the message itself is Indonesian."""

    def __init__(self, message: str, *, roles: tuple[Text | str, ...] = (), unit: str | None = None):
        self.roles = roles
        self.unit = unit
        super().__init__(message)


class StepOnHold(NotAllowed):
    """The open step is on hold (Tunda): nobody acts on it until a performer resumes it."""


class InvalidForm(SopError):
    """Form data failed the field rules; ``errors`` maps each field id to its FieldError."""

    def __init__(self, errors: Mapping[str, FieldError]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class InvalidInput(SopError):
    """A value handed to a service or command is unacceptable (not a form field of a step)."""


class RevisionRefused(SopError):
    """A revision was not published because running cases would be stranded on it (their step
    exists neither in the new version nor in its ``migration.steps``). ``cases`` holds their ids;
    nothing was written. Publish with keep-stranded to leave them on their version."""

    def __init__(self, message: str, cases: tuple[int, ...] = ()):
        self.cases = cases
        super().__init__(message)


class CaseMovedOn(SopError):
    """The case is no longer where the user's form found it; nothing of theirs was written."""


class AlreadyResponded(CaseMovedOn):
    """The reporter's one response to the answer was already recorded (a second post, or a race)."""


class StorageError(SopError):
    """The database refused a write for a reason other than a lost race (logged with its cause)."""


class ReadOnly(StorageError):
    """The database is open read-only (``runner.store.db``): every write is refused with this, and
    nothing was written. Not a fault, so not logged as one."""


class ConfigurationError(SopError):
    """The installation is wrong. ``hint`` says what to do; the CLI and the boot log print it."""

    def __init__(self, message: str, hint: str = ""):
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\nhint: {self.hint}" if self.hint else base
