"""A definition edited in the browser: read it, check it, dry-run it, publish it only as checked.

Nothing is saved until the admin publishes: the unsaved text travels in the form, never in a
server-side file. A check (``check_draft``) runs the real loader (every error and warning, each at
its line, as ``sop validate`` prints them) and, when the text loads, the revision service's dry run
(what each live case would do). It returns a :class:`Stamp` of what it saw, which the form carries
back; ``publish_draft`` checks again and publishes only when the fresh check saw the same thing —
the same text, no version of the SOP published since, the same dry run with the same options.
Otherwise it returns the fresh check with the reasons, and the admin reviews it before publishing.

Hostile input is answered with problems, never an exception: a text or upload larger than the
loader's limit, bytes that are not UTF-8, a binary file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import yamlsource
from ..definition import Problem, Sop, check_text, version_of
from ..errors import DefinitionError, InvalidInput, SopError
from ..logs import event
from ..registry import Registry
from ..store import Definition
from . import revisions
from .versions import Line

log = logging.getLogger(__name__)

MAX_BYTES = yamlsource.MAX_BYTES  # the loader's own limit, for a typed text and an upload alike
UPLOAD = "<upload>"


def normalise_newlines(text: str) -> str:
    """A browser sends a textarea's lines ending in CRLF; files are read with universal newlines.
    Both become ``\\n``, so the text checked, the text published and its version hash agree."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def oversized(text: str) -> bool:
    """Whether a typed text is beyond the loader's limit (said at once, before any check)."""
    return len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES


def decode_upload(data: bytes, path: str = UPLOAD) -> str:
    """The text of an uploaded definition file, or DefinitionError saying why it cannot be one."""
    def fail(message: str) -> DefinitionError:
        return DefinitionError([Problem(path, 1, 1, message)])

    if len(data) > MAX_BYTES:
        raise fail(f"file is larger than {MAX_BYTES} bytes")
    if b"\x00" in data:
        raise fail("file is not text (it holds NUL bytes: a binary file?); upload the definition's YAML file")
    try:
        text = data.decode("utf-8-sig")  # a BOM some editors write is not part of the text
    except UnicodeDecodeError as exc:
        raise fail(f"file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    return normalise_newlines(text)


@dataclass(frozen=True)
class Options:
    keep_stranded: bool = False
    effective: dt.date | None = None  # new cases start on it from this day (the SOP's time zone)


def parse_effective(value: str | None) -> dt.date | None:
    """A date from the form's date field ("" for none); InvalidInput for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("the effective date must be a date (YYYY-MM-DD)") from None
    if not 1970 <= day.year <= 9998:  # a time zone's offset must not push it out of datetime's range
        raise InvalidInput("the effective date must be between the years 1970 and 9998")
    return day


@dataclass(frozen=True)
class Stamp:
    """What a check saw, carried by the form to the publish button."""

    version: str  # sha256 of the text (the version it would publish)
    base: int  # id of the SOP's newest stored version then (0: none)
    plan: str  # digest of the dry run and the options it ran with

    def as_form(self) -> dict[str, str]:
        return {"checked_version": self.version, "checked_base": str(self.base), "checked_plan": self.plan}

    @classmethod
    def from_form(cls, form: dict[str, str]) -> "Stamp | None":
        base = form.get("checked_base", "")
        if not (form.get("checked_version") and base.isdecimal() and form.get("checked_plan")):
            return None
        return cls(form["checked_version"], int(base), form["checked_plan"])


@dataclass(frozen=True)
class DraftCheck:
    text: str
    sop: Sop | None
    problems: tuple[Problem, ...]
    plan: revisions.Plan | None = None
    stamp: Stamp | None = None
    published_as: int | None = None  # definitions.id when this exact text is already published
    refused: str = ""  # why the dry run could not be made (the text itself loads)
    stale: tuple[str, ...] = ()  # why a publish was not done but checked again
    options: Options = field(default_factory=Options)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def whole_file(self) -> tuple[Problem, ...]:
        """Problems about the file as a whole (line 0), listed at the top only."""
        return tuple(p for p in self.problems if p.line == 0)

    @property
    def new_sop(self) -> bool:
        """Whether no version of this SOP is stored yet (publishing adds an SOP, moves no case)."""
        return self.stamp is not None and self.stamp.base == 0

    @property
    def publishable(self) -> bool:
        return (self.sop is not None and self.plan is not None and self.plan.ok and not self.refused
                and self.published_as is None)

    def lines(self) -> list[Line]:
        """The text's lines, numbered, each with the problems found at it (one past the end goes on
        the last line: a problem at the end of the file)."""
        texts = self.text.splitlines() or [""]
        at: dict[int, list[Problem]] = {}
        for p in self.problems:
            if p.line > 0:
                at.setdefault(min(p.line, len(texts)), []).append(p)
        return [Line(i, t, tuple(at.get(i, ()))) for i, t in enumerate(texts, start=1)]

    def excerpt(self, context: int = 3) -> list[Line | None]:
        """The lines within ``context`` lines of a problem, ``None`` where lines are left out.

        The page already holds the whole text in its editing box; repeating all of it beside the
        problems made a page of a 650-line SOP weigh 170 KB, too much for a phone on a slow line, for
        no gain: the reader needs each problem with the lines around it."""
        lines = self.lines()
        near = {n for line in lines if line.problems
                for n in range(line.no - context, line.no + context + 1)}
        shown: list[Line | None] = []
        for line in lines:
            if line.no in near:
                shown.append(line)
            elif shown and shown[-1] is not None:
                shown.append(None)
        if not near:
            return []
        if lines[0].no not in near:
            shown.insert(0, None)
        return shown


def _newest(session: Session, sop_id: str) -> int:
    return session.scalar(select(func.max(Definition.id)).where(Definition.sop_id == sop_id)) or 0


def _effective_at(sop: Sop, day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(0), sop.calendar.zone) if day else None


def _plan_digest(plan: revisions.Plan, options: Options) -> str:
    parts = [f"keep={options.keep_stranded}", f"effective={options.effective}"]
    parts += [f"{o.case_id}:{o.from_version}:{o.state}:{o.outcome}:{o.to_state}" for o in plan.outcomes]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def check_draft(session: Session, registry: Registry, text: str, *, path: str = UPLOAD,
                options: Options = Options(), now: dt.datetime | None = None) -> DraftCheck:
    """Check ``text`` as ``sop validate`` does and, when it loads, dry-run publishing it. Saves nothing."""
    text = normalise_newlines(text)
    sop, problems = check_text(text, path)
    if sop is None:
        return DraftCheck(text, None, tuple(problems), options=options)
    published = session.scalar(select(Definition.id).where(Definition.sop_id == sop.id,
                                                           Definition.version == sop.version))
    base = _newest(session, sop.id)
    try:
        plan = revisions.plan(session, registry, text, path, keep_stranded=options.keep_stranded,
                              effective=_effective_at(sop, options.effective), now=now)
    except DefinitionError as exc:  # the revision rules refuse it (a problem with a position)
        return DraftCheck(text, sop, tuple([*problems, *exc.problems]), published_as=published, options=options)
    except SopError as exc:
        return DraftCheck(text, sop, tuple(problems), published_as=published, refused=str(exc), options=options)
    stamp = Stamp(sop.version, base, _plan_digest(plan, options))
    return DraftCheck(text, sop, tuple(problems), plan, stamp, published, options=options)


def publish_draft(session: Session, registry: Registry, text: str, *, by: str, checked: Stamp | None,
                  path: str = UPLOAD, options: Options = Options(),
                  now: dt.datetime | None = None) -> revisions.Published | DraftCheck:
    """Publish ``text`` if a fresh check sees what ``checked`` saw; else return that fresh check,
    with ``stale`` saying what changed, and publish nothing."""
    fresh = check_draft(session, registry, text, path=path, options=options, now=now)
    reasons: list[str] = []
    if checked is None:
        reasons.append("not checked")
    elif version_of(fresh.text) != checked.version:
        reasons.append("text changed")
    elif fresh.stamp is None or not fresh.publishable:
        reasons.append("does not pass")  # the same text, but now refused (cases moved, say)
    elif fresh.stamp.base != checked.base:
        reasons.append("version published")
    elif fresh.stamp.plan != checked.plan:
        reasons.append("dry run changed")
    if not reasons and fresh.sop is not None and checked is not None and checked.base:
        # Two admins publishing at once: lock the version both checked against; the second waits for
        # the first to commit, then sees its version (PostgreSQL; SQLite serialises writers anyway).
        session.execute(select(Definition.id).where(Definition.id == checked.base).with_for_update())
        if _newest(session, fresh.sop.id) != checked.base:
            reasons.append("version published")
            fresh = check_draft(session, registry, text, path=path, options=options, now=now)  # against it
    if reasons or fresh.plan is None:
        event(log, "definition.publish_rechecked", reason=",".join(reasons) or "no dry run")
        return DraftCheck(fresh.text, fresh.sop, fresh.problems, fresh.plan, fresh.stamp, fresh.published_as,
                          fresh.refused, tuple(reasons), options)
    done = revisions.publish(session, registry, fresh.plan, by=by, now=now)
    event(log, "definition.published_from_browser", definition=done.definition_id)
    return done


__all__ = ["DraftCheck", "Line", "MAX_BYTES", "Options", "Stamp", "check_draft", "decode_upload", "normalise_newlines",
           "oversized", "parse_effective", "publish_draft"]
