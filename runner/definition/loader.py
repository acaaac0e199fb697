"""One entry point from YAML text to a validated, frozen :class:`Sop`.

Order matters: syntax (with positions) → JSON Schema (shape) → build the model while checking
references (unknown role, action to a missing step, …) → graph checks (unreachable steps, steps
with no way to an end, unit-scoped steps reached before a unit is chosen). All problems of a stage
are reported together; a later stage runs only when the shape it relies on is sound.
"""

from __future__ import annotations

from functools import lru_cache

import datetime as dt
import hashlib
import os
from dataclasses import replace
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import durations, yamlsource
from ..errors import DefinitionError
from ..working_time import WEEKDAYS, Calendar, Interval, Period, parse_interval
from . import schema_check
from .model import (
    Action, Activity, End, Field, Flow, Identity, Migration, Official, Option, Role, Sop, Text, TimeLimit,
)
from .model import DueSoon, Escalation
from .model import Recap
from .model import Notify, ReporterNotice
from .model import PauseReason
from .model import Prefill
from .model import DEFAULT_ACCEPT, DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE
from .model import Dashboard, Response
from .problems import Problem, capped, json_path, suggest


MAX_FILE_SIZE = 50 * 1024 * 1024  # the largest max_size a file field may declare
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024 * 1024}


def parse_size(value: int | str) -> int | None:
    """A file field's ``max_size``: bytes as a number, or "500 KB" / "5 MB" (binary units, as a
    file manager counts them; a decimal comma is fine). None when it is not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    text = str(value).strip().lower().replace(",", ".")
    number = text.rstrip("kmb ").strip()
    unit = text[len(number):].strip()
    try:
        amount = float(number)
    except ValueError:
        return None
    if unit not in _SIZE_UNITS or amount <= 0:
        return None
    return int(amount * _SIZE_UNITS[unit])


def version_of(text: str) -> str:
    """The content hash that identifies one published version of a definition."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_text(text: str, path: str = "<string>") -> tuple[Sop | None, list[Problem]]:
    """Validate ``text``; return the Sop (None if any error) and the problems found: every one, up to
    MAX_PROBLEMS, then a last ``PATH: … and N more problems`` line (see ``problems.capped``)."""
    try:
        data, smap = yamlsource.load(text)
    except yamlsource.YamlSyntaxError as exc:
        problems = [Problem(path, p.line, p.column, p.message) for p in exc.problems]
        return None, capped(problems, path, unlisted=exc.unlisted)
    sop, problems = _check_data(data, smap, text, path)
    return sop, capped(problems, path)


def _check_data(data: Any, smap: yamlsource.SourceMap, text: str, path: str) -> tuple[Sop | None, list[Problem]]:
    if not isinstance(data, dict):
        return None, [Problem(path, 1, 1, "an SOP definition must be a mapping (id: …, title: …, roles: …)")]
    problems = schema_check.check(data, smap, path)
    if problems:
        return None, problems
    builder = _Builder(data, smap, path)
    sop = builder.build(version=version_of(text))
    if not any(p.severity == "error" for p in builder.problems):
        _check_graph(sop, builder)
        if not any(p.severity == "error" for p in builder.problems):
            _check_unused(sop, builder)
    problems = sorted(builder.problems, key=lambda p: (p.line, p.column))
    if any(p.severity == "error" for p in problems):
        # Warnings wait until the errors are fixed: beside an error they are mostly its echo
        # (a step cut off by a broken action is also "never reached").
        return None, [p for p in problems if p.severity == "error"]
    return sop, problems


def load_text(text: str, path: str = "<string>") -> Sop:
    """The validated definition of ``text``, or DefinitionError with every problem.

    The same text always gives the same frozen Sop, so the last few are kept: each app, CLI runtime
    or admin check that reads an unchanged file skips the schema and graph checks (they cost most of
    a start-up). A text that fails is not kept (lru_cache does not cache exceptions)."""
    return _load_text(text, path)


@lru_cache(maxsize=16)
def _load_text(text: str, path: str) -> Sop:
    sop, problems = check_text(text, path)
    if sop is None:
        raise DefinitionError(problems)
    return sop


def load_file(path: str | Path) -> Sop:
    return load_text(read_source(path), str(path))


def read_source(path: str | Path) -> str:
    """The text of a definition file, or DefinitionError. A file larger than yamlsource.MAX_BYTES is
    refused from its size before it is read, and at most MAX_BYTES + 1 characters are ever read (a
    device, or a file still growing, cannot exhaust memory). Newlines are read as ``read_text`` reads
    them, so the text, and the version hashed from it, are what they always were."""
    limit = yamlsource.MAX_BYTES

    def fail(message: str) -> DefinitionError:
        return DefinitionError([Problem(str(path), 1, 1, message)])

    try:
        with Path(path).open(encoding="utf-8") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise fail(f"file is larger than {limit} bytes ({size} bytes)")
            text = f.read(limit + 1)
    except UnicodeDecodeError as exc:
        raise fail(f"file is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror or exc}") from None
    if len(text) > limit:
        raise fail(f"file is larger than {limit} bytes")
    return text


def duplicate_id(path: str, text: str, sop_id: str, other: str) -> Problem:
    """The problem of a definition whose ``id`` another file (``other``) already uses, at its ``id:``."""
    try:
        _, smap = yamlsource.load(text)
        pos = smap.locate(("id",))
    except yamlsource.YamlSyntaxError:  # pragma: no cover - the text loaded once already
        pos = yamlsource.Position(1, 1)
    return Problem(path, pos.line, pos.column, f"id '{sop_id}' is already used by {Path(other).name}; "
                   "give this definition an id of its own")


class _Builder:
    """Turns schema-valid data into the frozen model, collecting reference problems on the way."""

    def __init__(self, data: dict[str, Any], smap: yamlsource.SourceMap, path: str):
        self.data, self.smap, self.path = data, smap, path
        self.problems: list[Problem] = []

    def error(self, where: yamlsource.Path, message: str, *, key: bool = False, severity: str = "error") -> None:
        pos = self.smap.locate(where, key=key)
        self.problems.append(Problem(self.path, pos.line, pos.column, f"{json_path(where)}: {message}", severity))

    # -- whole document -------------------------------------------------------------------------
    def build(self, version: str) -> Sop:
        d = self.data
        roles = tuple(self._role(i, r) for i, r in enumerate(d["roles"]))
        self._unique([r.id for r in roles], ("roles",), "role")
        self.role_ids = {r.id: r for r in roles}
        flows_raw = d["flows"]
        self.flow_ids = [f["id"] for f in flows_raw]
        self._unique(self.flow_ids, ("flows",), "flow")
        activities = tuple(self._activity(i, a) for i, a in enumerate(d["activities"]))
        self._unique([a.id for a in activities], ("activities",), "activity")
        self._unique([a.no for a in activities], ("activities",), "activity number", attr="no")
        self.index = {a.id: i for i, a in enumerate(activities)}  # activity id -> position, for messages
        flows = tuple(self._flow(i, f, activities) for i, f in enumerate(flows_raw))
        end_ids = [e.id for f in flows for e in f.ends]
        self._unique(end_ids, ("flows",), "end")
        for i, f in enumerate(flows):
            for j, e in enumerate(f.ends):
                if e.id in {a.id for a in activities}:
                    self.error(("flows", i, "ends", j, "id"), f"end '{e.id}' has the same id as an activity")
        self._check_actions(activities, flows)
        self._check_recaps(activities, flows)
        self._check_prefills(activities, flows)
        self._check_responses(activities, flows)
        return Sop(
            id=d["id"], title=_text(d["title"]), identity=self._identity(d["identity"]),
            calendar=self._calendar(d.get("calendar")), roles=roles, flows=flows,
            activities=activities, version=version, source_path=self.path,
            migration=self._migration(d.get("migration"), activities, flows),
            due_soon=self._due_soon(("due_soon",), d.get("due_soon")),
            dashboard=self._dashboard(d.get("dashboard")),
        )

    def _dashboard(self, raw: Mapping[str, Any] | None) -> Dashboard | None:
        """``dashboard.roles``: internal roles of this SOP (a reporter has no account to sign in with)."""
        if raw is None:
            return None
        roles = list(raw.get("roles", ()))
        self._role_refs(("dashboard", "roles"), roles, allow_external=False)
        self._no_repeats(roles, ("dashboard", "roles"))
        return Dashboard(tuple(roles))

    def _migration(self, raw: Mapping[str, Any] | None, activities: tuple[Activity, ...],
                   flows: tuple[Flow, ...]) -> Migration | None:
        """The ``migration`` block. Its step keys are free (they name steps of older versions), but
        each target must be an activity of this version and each data key a field of it."""
        if raw is None:
            return None
        activity_ids = {a.id for a in activities}
        for old, target in raw.get("steps", {}).items():
            if target not in activity_ids:
                self.error(("migration", "steps", old), f"'{target}' is not an activity of this version"
                           f"{suggest(target, activity_ids)}")
        field_ids = {f.id for a in activities for f in a.fields} | {f.id for fl in flows for f in fl.intake}
        for fid in raw.get("data", {}):
            if fid not in field_ids:
                self.error(("migration", "data", fid), f"'{fid}' is not a field of this version"
                           f"{suggest(fid, field_ids)}", key=True)
        return Migration(tuple(raw.get("steps", {}).items()), tuple(raw.get("data", {}).items()))

    def _unique(self, ids: Sequence[Hashable], where: yamlsource.Path, what: str, attr: str = "id") -> None:
        seen: dict[Hashable, int] = {}
        for i, value in enumerate(ids):
            if value in seen:
                self.error(where + (i, attr), f"duplicate {what} '{value}' (also at {json_path(where + (seen[value],))})")
            else:
                seen[value] = i

    def _no_repeats(self, ids: Sequence[str], where: yamlsource.Path) -> None:
        """A list of plain ids (not mappings with an ``id``) names each one once."""
        seen: set[str] = set()
        for i, value in enumerate(ids):
            if value in seen:
                self.error(where + (i,), f"'{value}' is listed twice")
            seen.add(value)

    # -- identity and calendar ------------------------------------------------------------------
    def _date(self, where: yamlsource.Path, value: str | None) -> dt.date | None:
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.error(where, f"'{value}' is not a valid date")
            return None

    def _identity(self, raw: Mapping[str, Any]) -> Identity:
        def official(key: str) -> Official | None:
            o = raw.get(key)
            return Official(o["position"], o["name"], o.get("nip", "")) if o else None

        w = ("identity",)
        return Identity(
            agency=raw["agency"], name=_text(raw["name"]), number=raw["number"],
            created=self._date(w + ("created",), raw.get("created")),
            revised=self._date(w + ("revised",), raw.get("revised")),
            effective=self._date(w + ("effective",), raw.get("effective")),
            prepared_by=official("prepared_by"), checked_by=official("checked_by"),
            approved_by=official("approved_by"),
            **{k: tuple(raw.get(k, ())) for k in
               ("legal_basis", "qualifications", "related_sops", "equipment", "warnings", "recording", "remarks")},
        )

    def _calendar(self, raw: Mapping[str, Any] | None) -> Calendar:
        if raw is None:
            return Calendar()
        where = ("calendar",)
        try:
            ZoneInfo(raw["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            self.error(where + ("timezone",), f"unknown time zone '{raw['timezone']}' (use an IANA name such as Asia/Jakarta)")
            return Calendar()
        hours = self._week(where + ("hours",), raw["hours"])
        if not any(hours):
            self.error(where + ("hours",), "the calendar has no working hours at all")
        calendar = Calendar(timezone=raw["timezone"], hours=hours,
                            periods=self._periods(where + ("periods",), raw.get("periods", [])),
                            **self._holidays(where + ("holidays",), raw.get("holidays") or {}))
        units = tuple((unit_id, self._unit_calendar(where + ("units", unit_id), calendar, raw.get("holidays") or {},
                                                    override))
                      for unit_id, override in (raw.get("units") or {}).items())
        return replace(calendar, units=units) if units else calendar

    def _unit_calendar(self, where: yamlsource.Path, base: Calendar, base_holidays: Mapping[str, Any],
                       raw: Mapping[str, Any]) -> Calendar:
        """A unit's calendar: each key it gives replaces the SOP's (``hours``, ``periods``), except
        that its holidays add to the SOP's: ``extra`` and ``working`` dates join the SOP's lists and
        ``country``/``subdivision``/``categories`` replace theirs only when given. A unit's anniversary
        off is then one line, not a copy of the whole calendar."""
        changed: dict[str, Any] = {}
        if "hours" in raw:
            changed["hours"] = self._week(where + ("hours",), raw["hours"])
            if not any(changed["hours"]):
                self.error(where + ("hours",), "the unit's calendar has no working hours at all")
        if "periods" in raw:
            changed["periods"] = self._periods(where + ("periods",), raw["periods"])
        if "holidays" in raw:
            own = raw["holidays"] or {}
            merged = {**base_holidays, **{k: v for k, v in own.items() if k not in ("extra", "working")},
                      "extra": [*base_holidays.get("extra", []), *own.get("extra", [])],
                      "working": [*base_holidays.get("working", []), *own.get("working", [])]}
            changed.update(self._holidays(where + ("holidays",), merged))
        return replace(base, **changed)

    def _week(self, where: yamlsource.Path, raw: Mapping[str, Any]) -> tuple[tuple[Interval, ...], ...]:
        hours = []
        for day in WEEKDAYS:
            intervals: list[Interval] = []
            for k, text in enumerate(raw.get(day, [])):
                try:
                    iv = parse_interval(text)
                except ValueError as exc:
                    self.error(where + (day, k), str(exc))
                    continue
                if intervals and iv.start < intervals[-1].end:
                    self.error(where + (day, k), f"'{text}' overlaps or precedes the interval before it")
                    continue
                intervals.append(iv)
            hours.append(tuple(intervals))
        return tuple(hours)

    def _periods(self, where: yamlsource.Path, raw: Sequence[Mapping[str, Any]]) -> tuple[Period, ...]:
        """Schedules for date ranges (Ramadan); they may not overlap, so a day has one schedule."""
        periods: list[Period] = []
        for k, item in enumerate(raw):
            start = self._date(where + (k, "from"), item["from"])
            end = self._date(where + (k, "to"), item["to"])
            week = self._week(where + (k, "hours"), item["hours"])
            if start is None or end is None:
                continue
            if end < start:
                self.error(where + (k, "to"), f"period '{item['name']}' ends ({end}) before it starts ({start})")
                continue
            if not any(week):
                self.error(where + (k, "hours"), f"period '{item['name']}' has no working hours; "
                           "list days off under holidays.extra instead")
            clash = next((p for p in periods if p.start <= end and start <= p.end), None)
            if clash is not None:
                self.error(where + (k, "from"), f"period '{item['name']}' overlaps period '{clash.name}' "
                           f"({clash.start} to {clash.end}); a day can follow only one schedule")
                continue
            periods.append(Period(str(item["name"]), start, end, week))
        return tuple(periods)

    def _holidays(self, where: yamlsource.Path, hol: Mapping[str, Any]) -> dict[str, Any]:
        country = hol.get("country")
        categories = tuple(hol.get("categories", ("public",)))
        if country:
            try:
                import holidays

                holidays.country_holidays(country, subdiv=hol.get("subdivision"), years=2000, categories=categories)
            except (NotImplementedError, ValueError, KeyError) as exc:
                self.error(where, f"holidays for '{country}' are not available: {exc}")
                country = None
        return dict(
            holiday_country=country, holiday_subdivision=hol.get("subdivision"), holiday_categories=categories,
            extra_holidays=tuple(d for k, v in enumerate(hol.get("extra", []))
                                 if (d := self._date(where + ("extra", k), v))),
            extra_working_days=tuple(d for k, v in enumerate(hol.get("working", []))
                                     if (d := self._date(where + ("working", k), v))),
        )

    # -- roles, fields, activities, flows -------------------------------------------------------
    def _role(self, i: int, raw: Mapping[str, Any]) -> Role:
        role = Role(raw["id"], _text(raw["name"]), _text(raw.get("description", "")), bool(raw.get("unit_scoped", False)),
                    bool(raw.get("external", False)), bool(raw.get("sees_identity", False)))
        if role.external and role.unit_scoped:
            self.error(("roles", i, "unit_scoped"), "an external role cannot be scoped to a unit")
        return role

    def _role_refs(self, where: yamlsource.Path, ids: list[str], *, allow_external: bool) -> tuple[str, ...]:
        for k, rid in enumerate(ids):
            role = self.role_ids.get(rid)
            if role is None:
                self.error(where + (k,), f"unknown role '{rid}'{suggest(rid, self.role_ids)}")
            elif role.external and not allow_external:
                self.error(where + (k,), f"role '{rid}' is external (no account) and cannot perform a step")
        return tuple(ids)

    def _fields(self, where: yamlsource.Path, raw: Sequence[Mapping[str, Any]]) -> tuple[Field, ...]:
        fields = []
        for k, f in enumerate(raw):
            w = where + (k,)
            options = tuple(
                Option(o, Text(o)) if isinstance(o, str) else Option(o["value"], _text(o["label"]))
                for o in f.get("options", ())
            )
            if f["type"] == "select" and not options:
                self.error(w + ("type",), f"select field '{f['id']}' needs options")
            if f["type"] != "select" and options:
                self.error(w + ("options",), f"options are only for select fields, not '{f['type']}'")
            if "min" in f and "max" in f and f["min"] > f["max"]:
                self.error(w + ("min",), "min is greater than max")
            max_files, max_size, accept = self._file_limits(w, f)
            fields.append(Field(
                id=f["id"], type=f["type"], label=_text(f["label"]), required=bool(f.get("required", False)),
                help=_text(f["help"]) if "help" in f else None, options=options,
                max_length=f.get("max_length"), min=f.get("min"), max=f.get("max"), public=bool(f.get("public", False)),
                identifies=bool(f.get("identifies", False)), examples=tuple(f.get("examples", ())),
                max_files=max_files, max_size=max_size, accept=accept, prefill=_prefill(f.get("prefill")),
            ))
            self._check_examples(w, fields[-1])
        self._unique([f.id for f in fields], where, "field")
        return tuple(fields)

    def _file_limits(self, where: yamlsource.Path, f: Mapping[str, Any]) -> tuple[int | None, int | None, tuple[str, ...]]:
        """A file field's limits with their defaults; the keys on any other field are an error (a
        ``max_size`` on a text field would silently mean nothing)."""
        keys = [k for k in ("max_files", "max_size", "accept") if k in f]
        if f["type"] != "file":
            for k in keys:
                self.error(where + (k,), f"{k} is only for file fields, not '{f['type']}'")
            return None, None, ()
        size = DEFAULT_MAX_SIZE
        if "max_size" in f:
            parsed = parse_size(f["max_size"])
            if parsed is None or parsed > MAX_FILE_SIZE:
                self.error(where + ("max_size",), f"max_size {f['max_size']!r} is not a size up to 50 MB; "
                           "write bytes (1048576) or a number with KB or MB (\"5 MB\")")
            else:
                size = parsed
        accept = tuple(f.get("accept", DEFAULT_ACCEPT))
        from ..forms import KNOWN_TYPES  # forms imports the model; importing it here keeps the import one way

        known = sorted({t.split("/")[0] + "/*" for t in KNOWN_TYPES} | set(KNOWN_TYPES))
        for n, kind in enumerate(accept):
            if kind not in known:
                self.error(where + ("accept", n), f"'{kind}' is not a file type SOP Runner can recognise from a "
                           f"file's content{suggest(kind, known)}")
        if f.get("examples"):
            self.error(where + ("examples",), "a file field takes no examples; remove them")
        return int(f.get("max_files", DEFAULT_MAX_FILES)), size, accept

    def _check_examples(self, where: yamlsource.Path, f: Field) -> None:
        """Each example must be a value the form itself would accept: demo cases are filled with them,
        and an example the field refuses would teach the admin's colleagues the wrong format."""
        from ..forms import clean  # forms imports the model; importing it here keeps the import one way

        if f.examples and f.type == "unit":
            self.error(where + ("examples",), "a unit field takes its values from the units (`sop unit add`); "
                       "remove its examples")
            return
        for k, value in enumerate(f.examples):
            raw: Any = value
            if f.type == "checkbox" and isinstance(value, bool):
                raw = "on" if value else ""
            elif isinstance(value, bool) or (f.type == "checkbox" and not isinstance(value, bool)):
                self.error(where + ("examples", k), f"example {value!r} does not fit a {f.type} field"
                           + ("; write true or false" if f.type == "checkbox" else ""))
                continue
            _, errors = clean([f], {f.id: raw})
            if f.id in errors and f.type == "select":
                self.error(where + ("examples", k), f"example {value!r} is not one of the option values: "
                           f"{', '.join(o.value for o in f.options)}{suggest(str(value), [o.value for o in f.options])}")
            elif f.id in errors:
                self.error(where + ("examples", k), f"example {value!r} is not accepted by this field: "
                           f"{errors[f.id].message}")

    def _activity(self, i: int, raw: Mapping[str, Any]) -> Activity:
        w = ("activities", i)
        flow = raw.get("flow", self.flow_ids[0])
        if flow not in self.flow_ids:
            self.error(w + ("flow",), f"unknown flow '{flow}'{suggest(flow, self.flow_ids)}")
        limit = None
        tl = raw.get("time_limit")
        if tl is not None:
            text, advisory = (tl, False) if isinstance(tl, str) else (tl["text"], bool(tl.get("advisory", False)))
            try:
                limit = TimeLimit(text, durations.parse(text), advisory)
            except durations.DurationError as exc:
                self.error(w + ("time_limit",) + (() if isinstance(tl, str) else ("text",)), str(exc))
        fields = self._fields(w + ("fields",), raw.get("fields", []))
        for k, f in enumerate(fields):
            if f.identifies:
                self.error(w + ("fields", k, "identifies"), "only intake fields identify the reporter")
        field_by_id = {f.id: f for f in reversed(fields)}  # a duplicate id is reported once, by _unique
        actions = []
        for k, a in enumerate(raw["actions"]):
            for r, fid in enumerate(a.get("requires", [])):
                if fid not in field_by_id:
                    self.error(w + ("actions", k, "requires", r),
                               f"field '{fid}' is not a field of this activity{suggest(fid, field_by_id)}")
            unit_field = a.get("assign_unit")
            if unit_field is not None:
                if unit_field not in field_by_id:
                    self.error(w + ("actions", k, "assign_unit"),
                               f"field '{unit_field}' is not a field of this activity{suggest(unit_field, field_by_id)}")
                elif field_by_id[unit_field].type != "unit":
                    self.error(w + ("actions", k, "assign_unit"), f"field '{unit_field}' must have type 'unit'")
            for r, fid in enumerate(a.get("fields", [])):
                if fid not in field_by_id:
                    self.error(w + ("actions", k, "fields", r),
                               f"field '{fid}' is not a field of this activity{suggest(fid, field_by_id)}")
            actions.append(Action(a["id"], _text(a["label"]), a["to"], tuple(a.get("requires", ())), unit_field))
        actions = _resolve_uses(raw["actions"], actions, fields)
        self._unique([a.id for a in actions], w + ("actions",), "action")
        for k, f in enumerate(fields):
            skipping = [a.id for a in actions if f.required and f.id not in a.uses]
            if skipping:
                claims = [a.id for a in actions if f.id in a.uses]
                self.error(w + ("fields", k, "required"),
                           f"field '{f.id}' is required, but action '{skipping[0]}' does not collect it (only "
                           f"{', '.join(repr(c) for c in claims)} claim{'s' if len(claims) == 1 else ''} it); "
                           "`required: true` means every action: remove it and list the field in the `requires` "
                           "of the actions that need it")
        return Activity(
            no=raw["no"], id=raw["id"], flow=flow, name=_text(raw["name"]),
            performers=self._role_refs(w + ("performers",), raw["performers"], allow_external=False),
            recipients=self._role_refs(w + ("recipients",), raw.get("recipients", []), allow_external=True),
            requirements=tuple(raw.get("requirements", ())), time_limit=limit, output=raw.get("output", ""),
            note=raw.get("note", ""), fields=fields, actions=tuple(actions),
            public_status=_text(raw.get("public_status", "")), sets_privacy=bool(raw.get("sets_privacy", False)),
            due_soon=self._due_soon(w + ("due_soon",), raw.get("due_soon")),
            escalation=self._escalation(w, raw, limit),
            pause_reasons=self._pause_reasons(w + ("pause_reasons",), raw.get("pause_reasons", [])),
        )

    def _pause_reasons(self, where: yamlsource.Path, raw: list[Mapping[str, Any]]) -> tuple[PauseReason, ...]:
        """``pause_reasons``: why the step may wait (Tunda); each label is shown to the reporter."""
        reasons = tuple(PauseReason(r["id"], _text(r["label"])) for r in raw)
        self._unique([r.id for r in reasons], where, "pause reason")
        return reasons

    def _due_soon(self, where: yamlsource.Path, raw: str | None) -> DueSoon | None:
        """``due_soon``: a working-time span ("2 jam", "1 hari") or a share of the limit ("25%")."""
        if raw is None:
            return None
        text = raw.strip()
        if text.endswith("%"):
            try:
                share = float(text[:-1].strip().replace(",", "."))
            except ValueError:
                share = -1.0
            if not 0 <= share <= 100:
                self.error(where, f"'{raw}' is not a share of the time limit between 0% and 100%")
                return None
            return DueSoon(text, fraction=share / 100)
        try:
            return DueSoon(text, duration=durations.parse(text))
        except durations.DurationError as exc:
            self.error(where, f"{exc} (or write a share of the time limit, like '25%')")
            return None

    def _escalation(self, where: yamlsource.Path, raw: Mapping[str, Any], limit: TimeLimit | None) -> Escalation | None:
        """``escalate_to`` / ``escalate_after``: only a step with a binding time limit can be late."""
        roles, after_text = raw.get("escalate_to"), raw.get("escalate_after")
        if roles is None:
            if after_text is not None:
                self.error(where + ("escalate_after",), "escalate_after needs escalate_to: the roles to tell",
                           key=True)
            return None
        if limit is None or limit.advisory:
            self.error(where + ("escalate_to",), "a step without a binding time_limit is never overdue, so it "
                       "cannot escalate" + (" (its time_limit is advisory)" if limit else ""), key=True)
        after = durations.Duration()
        if after_text is not None:
            try:
                after = durations.parse(after_text)
            except durations.DurationError as exc:
                self.error(where + ("escalate_after",), str(exc))
        refs = self._role_refs(where + ("escalate_to",), list(roles), allow_external=False)
        return Escalation(refs, after, after_text or "")

    def _flow(self, i: int, raw: Mapping[str, Any], activities: tuple[Activity, ...]) -> Flow:
        w = ("flows", i)
        mine = {a.id for a in activities if a.flow == raw["id"]}
        if raw["start"] not in mine:
            self.error(w + ("start",), f"start '{raw['start']}' is not an activity of flow '{raw['id']}'"
                       f"{suggest(raw['start'], mine)}")
        intake = self._fields(w + ("intake",), raw.get("intake", []))
        started_by = self._role_refs(w + ("started_by",), raw.get("started_by", []), allow_external=True)
        if raw.get("schedule") and (started_by or intake):
            self.error(w + ("schedule",), "a scheduled flow is opened by `sop tick`; remove started_by and intake")
        if not raw.get("schedule") and not started_by:
            self.error(w, f"flow '{raw['id']}' has neither a schedule nor started_by: no case could ever start")
        title_field = raw.get("title_field")
        if title_field and title_field not in {f.id for f in intake}:
            self.error(w + ("title_field",), f"'{title_field}' is not an intake field")
        elif title_field and any(f.id == title_field and f.type == "file" for f in intake):
            self.error(w + ("title_field",), f"'{title_field}' is a file field; a case's title is text")
        for k, f in enumerate(intake):
            if f.identifies and f.public:
                self.error(w + ("intake", k, "public"), "a field that identifies the reporter cannot be public")
            if f.type == "unit":
                self.error(w + ("intake", k, "type"), "intake fields cannot choose a unit; use an action's assign_unit")
        ends = tuple(End(e["id"], _text(e["name"]), raw["id"], _text(e.get("public_message", "")),
                         _text(e.get("public_status", ""))) for e in raw["ends"])
        recap = raw.get("recap") or {}
        if recap and not raw.get("schedule"):
            self.error(w + ("recap",), "only a scheduled flow has a period report; remove recap or add schedule")
        response = raw.get("response")
        if (response or raw.get("public_list")) and raw.get("schedule"):
            self.error(w + ("response" if response else "public_list",),
                       "a scheduled flow has no reporter; response and public_list are for per-report flows", key=True)
        if raw.get("public_list") and not response:
            self.error(w + ("public_list",), "the public list shows answered reports: add response.after, the "
                       "states where the answer has been given", key=True)
        return Flow(raw["id"], _text(raw["name"]), raw["start"], raw.get("schedule"), started_by, intake, title_field,
                    ends, recap=Recap(tuple(recap.get("by", ())), bool(recap.get("units", True))),
                    response=Response(tuple(response.get("after", ())), str(response.get("not_satisfied", "")))
                    if response else None,
                    public_list=bool(raw.get("public_list", False)),
                    notify=self._notify(w, raw, intake, mine))

    def _notify(self, w: yamlsource.Path, raw: Mapping[str, Any], intake: tuple[Field, ...],
                mine: set[str]) -> Notify:
        """``notify``: the reporter's address must be an intake field that can hold one, and the
        steps they are told of activities of this flow (a scheduled flow has no reporter)."""
        spec = raw.get("notify") or {}
        staff = tuple(dict.fromkeys(spec.get("staff", ())))
        reporter_raw = spec.get("reporter")
        if not reporter_raw:
            return Notify(staff)
        wr = w + ("notify", "reporter")
        if raw.get("schedule"):
            self.error(wr, "a scheduled flow has no reporter to tell; remove notify.reporter")
        field_id = reporter_raw["email_field"]
        by_id = {f.id: f for f in intake}
        if field_id not in by_id:
            self.error(wr + ("email_field",), f"'{field_id}' is not an intake field of flow '{raw['id']}'"
                       f"{suggest(field_id, set(by_id))}")
        elif by_id[field_id].type not in ("email", "text"):
            self.error(wr + ("email_field",), f"'{field_id}' is a {by_id[field_id].type} field; the reporter's "
                       "address is an email (or text) field")
        steps = tuple(dict.fromkeys(reporter_raw.get("steps", ())))
        for k, step in enumerate(steps):
            if step not in mine:
                self.error(wr + ("steps", k), f"'{step}' is not an activity of flow '{raw['id']}'{suggest(step, mine)}")
        return Notify(staff, ReporterNotice(field_id, tuple(dict.fromkeys(reporter_raw.get("events", ()))), steps))

    def _check_responses(self, activities: tuple[Activity, ...], flows: tuple[Flow, ...]) -> None:
        """``response.after`` and ``response.not_satisfied`` name states (activities or ends) of their flow."""
        for i, fl in enumerate(flows):
            if fl.response is None:
                continue
            states = {a.id for a in activities if a.flow == fl.id} | {e.id for e in fl.ends}
            for k, sid in enumerate(fl.response.after):
                if sid not in states:
                    self.error(("flows", i, "response", "after", k), f"'{sid}' is not an activity or end of flow "
                               f"'{fl.id}'{suggest(sid, states)}")
            self._no_repeats(list(fl.response.after), ("flows", i, "response", "after"))
            target = fl.response.not_satisfied
            if target not in states:
                self.error(("flows", i, "response", "not_satisfied"), f"'{target}' is not an activity or end of "
                           f"flow '{fl.id}'{suggest(target, states)}")

    def _check_prefills(self, activities: tuple[Activity, ...], flows: tuple[Flow, ...]) -> None:
        """Each ``prefill`` names a field that comes *earlier* (the flow's intake, or a field of an
        activity from which this one can be reached: on a loop, of step 9 back to step 8, step 8 still
        comes before step 9), of a type whose values fit this field, and not one that identifies the
        reporter (copied into another field, it would escape the anonymity mask)."""
        by_id = {a.id: a for a in activities}
        flow_of = {fl.id: fl for fl in flows}
        for i, fl in enumerate(flows):
            for k, f in enumerate(fl.intake):
                if f.prefill is not None:
                    self.error(("flows", i, "intake", k, "prefill"), "an intake field is filled in by whoever "
                               "starts the case; prefill is for the fields of an activity", key=True)
        for i, a in enumerate(activities):
            if not any(f.prefill is not None for f in a.fields):
                continue
            earlier = [b for b in activities if b.flow == a.flow and b.id != a.id and a.id in _reach(by_id.get, b.id)]
            intake = flow_of[a.flow].intake if a.flow in flow_of else ()
            for k, f in enumerate(a.fields):
                if f.prefill is None:
                    continue
                where: yamlsource.Path = ("activities", i, "fields", k, "prefill")
                p = f.prefill
                if p.activity is None:
                    if p.field == f.id:
                        self.error(where, f"'{f.id}' is this field itself, which already starts with its own "
                                   "stored value; prefill names another field")
                        continue
                    sources = [x for x in intake if x.id == p.field] + \
                        [x for b in earlier for x in b.fields if x.id == p.field]
                    if not sources:
                        known = {x.id for x in intake} | {x.id for b in earlier for x in b.fields}
                        self.error(where, f"'{p.field}' is not a field of the intake or of an activity before "
                                   f"'{a.id}'{suggest(p.field, known)}")
                        continue
                else:
                    source_activity = by_id.get(p.activity)
                    if source_activity is None or source_activity.flow != a.flow:
                        self.error(where + ("activity",), f"'{p.activity}' is not an activity of flow '{a.flow}'"
                                   f"{suggest(p.activity, [b.id for b in activities if b.flow == a.flow])}")
                        continue
                    if source_activity not in earlier:
                        self.error(where + ("activity",), f"activity '{p.activity}' never comes before '{a.id}' "
                                   "(no path leads from it to this step), so it has no value to offer")
                        continue
                    sources = [x for x in source_activity.fields if x.id == p.field]
                    if not sources:
                        self.error(where + ("field",), f"'{p.field}' is not a field of activity '{p.activity}'"
                                   f"{suggest(p.field, [x.id for x in source_activity.fields])}")
                        continue
                for source in sources:
                    problem = _prefill_problem(source, f)
                    if problem:
                        self.error(where, problem)
                        break
                    if f.max_length is not None and (source.max_length is None or source.max_length > f.max_length):
                        self.error(where, f"'{source.id}' may hold more than this field's max_length "
                                   f"({f.max_length}); a longer value must be shortened before the step is saved",
                                   severity="warning")
                        break

    def _check_recaps(self, activities: tuple[Activity, ...], flows: tuple[Flow, ...]) -> None:
        """Each ``recap.by`` names a select field of the SOP's case flows: the report counts its options."""
        selects = {f.id for fl in flows if fl.schedule is None for f in fl.intake if f.type == "select"}
        case_flows = {fl.id for fl in flows if fl.schedule is None}
        selects |= {f.id for a in activities if a.flow in case_flows for f in a.fields if f.type == "select"}
        for i, fl in enumerate(flows):
            for k, fid in enumerate(fl.recap.by):
                if fid not in selects:
                    self.error(("flows", i, "recap", "by", k), f"'{fid}' is not a select field of a case flow"
                               f"{suggest(fid, selects)}")

    def _check_actions(self, activities: tuple[Activity, ...], flows: tuple[Flow, ...]) -> None:
        flow_of = {a.id: a.flow for a in activities}
        for f in flows:
            for e in f.ends:
                flow_of.setdefault(e.id, f.id)
        for i, a in enumerate(activities):
            for k, action in enumerate(a.actions):
                target_flow = flow_of.get(action.to)
                if a.flow not in self.flow_ids or (target_flow is not None and target_flow not in self.flow_ids):
                    continue  # the unknown flow is the problem, reported at its `flow:`
                if target_flow is None:
                    self.error(("activities", i, "actions", k, "to"),
                               f"no activity or end '{action.to}'{suggest(action.to, flow_of)}")
                elif target_flow != a.flow:
                    self.error(("activities", i, "actions", k, "to"),
                               f"'{action.to}' belongs to flow '{target_flow}', not '{a.flow}'")


def _text(raw: Any) -> Text:
    """Display text from either form the schema allows: plain Indonesian, or ``{id: ..., en: ...}``.

    A stored version is rebuilt without the schema (``stored.load_stored``), so anything that is not
    a mapping is read as the text it prints as, never refused: such a version was valid when published."""
    if isinstance(raw, Mapping):
        return Text(str(raw["id"]), tuple(sorted((str(k), str(v)) for k, v in raw.items() if k != "id")))
    return Text("" if raw is None else str(raw))


def _prefill(raw: Any) -> Prefill | None:
    """``prefill: jawaban`` or ``prefill: {activity: kirim_jawaban_opd, field: jawaban}``. A stored
    version is rebuilt without the schema, so anything else is read as no prefill, never refused."""
    if isinstance(raw, str) and raw:
        return Prefill(raw)
    if isinstance(raw, Mapping) and isinstance(raw.get("field"), str) and isinstance(raw.get("activity"), str):
        return Prefill(raw["field"], raw["activity"])
    return None


_TEXT_LIKE = ("text", "textarea", "email", "tel", "number", "date")


def _prefill_problem(source: Field, target: Field) -> str | None:
    """Why ``source``'s values cannot start ``target`` (None: they can). Same type fits (a select
    only when each of its options is one of the target's); a text or textarea takes any text-like
    value. A select's stored value is a code ("web"), not text for a reader, so it fits no text field."""
    if source.identifies:
        return (f"'{source.id}' identifies the reporter: copied into another field it would be shown to "
                "everyone, anonymous or not")
    if source.type == target.type:
        if source.type == "select":
            missing = [o.value for o in source.options if o.value not in {t.value for t in target.options}]
            if missing:
                return f"options {', '.join(repr(m) for m in missing)} of '{source.id}' are not options of this field"
        return None
    if target.type in ("text", "textarea") and source.type in _TEXT_LIKE:
        return None
    return f"a {source.type} field cannot prefill a {target.type} field"


def _reach(activity_of: Callable[[str], Activity | None], start: str) -> set[str]:
    """Activity and end ids reachable from ``start`` by one or more actions (start itself only on a loop)."""
    seen: set[str] = set()
    queue = deque([start])
    while queue:
        node = activity_of(queue.popleft())
        if node is None:
            continue
        for action in node.actions:
            if action.to not in seen:
                seen.add(action.to)
                queue.append(action.to)
    return seen


def _resolve_uses(raws: Sequence[Mapping[str, Any]], actions: list[Action],
                  fields: tuple[Field, ...]) -> list[Action]:
    """Which fields each action collects: the fields it claims (``fields``, ``requires``,
    ``assign_unit``) plus every field no action of the activity claims. What is typed into a field the
    taken action does not collect is never stored (data taken is data used)."""
    claims = [set(r.get("fields", ())) | set(r.get("requires", ())) | ({r["assign_unit"]} if r.get("assign_unit") else set())
              for r in raws]
    claimed = set().union(*claims) if claims else set()
    common = [f.id for f in fields if f.id not in claimed]
    return [replace(a, uses=tuple(f.id for f in fields if f.id in common or f.id in mine))
            for a, mine in zip(actions, claims)]


def _check_graph(sop: Sop, builder: _Builder) -> None:
    """Unreachable activities, activities with no way to an end, unit-scoped steps without a unit."""
    idx = builder.index
    for flow in sop.flows:
        reach = _reachable(sop, flow.start)
        for a in sop.activities:
            if a.flow == flow.id and a.id not in reach:
                builder.error(("activities", idx[a.id], "id"), f"activity '{a.id}' cannot be reached from the start "
                              f"of flow '{flow.id}' ('{flow.start}')")
        for j, e in enumerate(flow.ends):
            if e.id not in reach:
                builder.error(("flows", sop.flows.index(flow), "ends", j, "id"),
                              f"end '{e.id}' is never reached", severity="warning")
        ends = {e.id for e in flow.ends}
        for a in sop.activities:
            if a.flow == flow.id and a.id in reach and not (_reachable(sop, a.id) & ends):
                builder.error(("activities", idx[a.id], "actions"), f"activity '{a.id}' has no way to an end of flow "
                              f"'{flow.id}': a case there could never finish")
        # Steps whose performers are all unit-scoped need a unit chosen on every path before them.
        unassigned = {flow.start}
        queue = deque([flow.start])
        while queue:
            node = sop.activity(queue.popleft())
            if node is None:
                continue
            for action in node.actions:
                if action.assign_unit is None and action.to not in unassigned:
                    unassigned.add(action.to)
                    queue.append(action.to)
        for a in sop.activities:
            if a.id in unassigned and all((r := sop.role(p)) and r.unit_scoped for p in a.performers):
                builder.error(("activities", idx[a.id], "performers"),
                              f"activity '{a.id}' is performed only by unit-scoped roles, but a case can reach it "
                              "before any action assigns a unit (add assign_unit to an earlier action)")
        # The reporter's not-satisfied response reopens a case too: the same rule holds for that move.
        target = sop.activity(flow.response.not_satisfied) if flow.response else None
        if target is not None and flow.response is not None and \
                all((r := sop.role(p)) and r.unit_scoped for p in target.performers) and \
                any(s in unassigned for s in flow.response.after):
            builder.error(("flows", sop.flows.index(flow), "response", "not_satisfied"),
                          f"activity '{target.id}' is performed only by unit-scoped roles, but a response can reopen "
                          "a case there before any action assigned it a unit")


def _check_unused(sop: Sop, builder: _Builder) -> None:
    """Warnings, never errors: a step with no time limit, a role nothing refers to. (A field no action
    collects cannot occur: a field no action claims belongs to every action.) They run only on a
    definition without errors, so they never hide or repeat one."""
    used_roles: set[str] = set()
    for f in sop.flows:
        used_roles.update(f.started_by)
    for i, a in enumerate(sop.activities):
        used_roles.update(a.performers)
        used_roles.update(a.recipients)
        if a.time_limit is None:
            builder.error(("activities", i, "id"), f"activity '{a.id}' has no time_limit", severity="warning")
    for i, r in enumerate(sop.roles):
        if r.id not in used_roles:
            builder.error(("roles", i, "id"), f"role '{r.id}' is used by no activity (performers, recipients) "
                          "and no flow (started_by)", severity="warning")


def _reachable(sop: Sop, start: str) -> set[str]:
    """``start`` and every activity and end id reachable from it."""
    return {start} | _reach(sop.activity, start)
