"""The immutable SOP definition: what an admin wrote, validated and frozen.

Nothing here changes while cases run. A running case is a database row that points at one of these
by version hash; the two are kept apart so a revision of the YAML can never rewrite the rules a case
started under.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..durations import Duration
from ..working_time import Calendar

FIELD_TYPES = ("text", "textarea", "number", "date", "email", "tel", "select", "checkbox", "unit", "file")

# A ``file`` field without its own limits (docs/sop-language.md): a photo or a scanned letter fits.
DEFAULT_MAX_FILES = 1
DEFAULT_MAX_SIZE = 5 * 1024 * 1024  # bytes
DEFAULT_ACCEPT = ("image/*", "application/pdf")


@dataclass(frozen=True)
class Text:
    """Display text in Bahasa Indonesia with optional translations (``{"id": ..., "en": ...}``)."""

    id: str
    translations: tuple[tuple[str, str], ...] = ()

    def get(self, locale: str | None = None) -> str:
        if locale and not locale.startswith("id"):
            for lang, text in self.translations:
                if locale.startswith(lang):
                    return text
        return self.id

    def __str__(self) -> str:
        return self.id

    def __bool__(self) -> bool:
        """Empty like ``""``: an optional text left out (``public_status``, ``description``) is falsy."""
        return bool(self.id)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang, _ in self.translations)


def joined(*parts: Text | str) -> Text:
    """One display text made of ``parts`` in every language any part has ("5. " + a bilingual name).

    A part without that language contributes its Indonesian, as :func:`display` would show it; so
    the web layer keeps one value and renders it in the reader's language."""
    langs = sorted({lang for p in parts if isinstance(p, Text) for lang in p.languages})
    return Text("".join(display(p) for p in parts),
                tuple((lang, "".join(display(p, lang) for p in parts)) for lang in langs))


def display(value: Text | str | None, locale: str | None = None) -> str:
    """Display text in ``locale`` whether the definition gave a plain string or a :class:`Text`.

    Every renderer (web, document, diagram, CLI) goes through this, so a name may become bilingual
    in the language without each caller learning a second type."""
    if value is None:
        return ""
    if isinstance(value, Text):
        return value.get(locale)
    return str(value)


@dataclass(frozen=True)
class Official:
    position: str
    name: str
    nip: str


@dataclass(frozen=True)
class Identity:
    """The identity page of a Permenpan-RB 35/2012 SOP."""

    agency: str
    name: Text
    number: str
    created: dt.date | None
    revised: dt.date | None
    effective: dt.date | None
    prepared_by: Official | None
    checked_by: Official | None
    approved_by: Official | None
    legal_basis: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    related_sops: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    recording: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    id: str
    name: Text
    description: Text = Text("")
    unit_scoped: bool = False
    external: bool = False
    sees_identity: bool = False  # sees the identifying fields of an anonymous report


@dataclass(frozen=True)
class Option:
    value: str
    label: Text


@dataclass(frozen=True)
class Prefill:
    """``prefill`` of a field: the latest value of ``field`` as recorded by ``activity`` (None: by
    whichever earlier step or intake stored it last). Checked by the loader: an earlier field of a
    compatible type that does not identify the reporter."""

    field: str
    activity: str | None = None


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    label: Text
    required: bool = False
    help: Text | None = None
    options: tuple[Option, ...] = ()
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    public: bool = False
    identifies: bool = False  # an intake field naming or reaching the reporter (masked when anonymous)
    examples: tuple[str | float | bool, ...] = ()  # realistic values, for demo cases (checked by the loader)
    # A file field's limits (None / empty for other types): how many files, bytes each, and the MIME
    # types (or families, "image/*") its content may be — decided from the bytes, never the name.
    max_files: int | None = None
    max_size: int | None = None
    accept: tuple[str, ...] = ()
    # Where the form's first value comes from when it is not this field's own stored value: an
    # earlier field (step 9's answer for the reporter starts as step 8's answer of the OPD).
    prefill: Prefill | None = None

    def shown(self, value: Any) -> Text | str:
        """A stored value as a reader should see it: a select's option label (``pasal_17_h`` is the
        stored value, "Pasal 17 huruf h: …" what was chosen), anything else as stored."""
        for option in self.options:
            if option.value == value:
                return option.label
        if self.type == "file" and isinstance(value, list):  # attachment references: their names
            return ", ".join(str(ref.get("name", "")) for ref in value if isinstance(ref, dict))
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Action:
    id: str
    label: Text
    to: str
    requires: tuple[str, ...] = ()
    assign_unit: str | None = None
    uses: tuple[str, ...] = ()  # ids of the activity's fields this action collects (resolved by the loader)


@dataclass(frozen=True)
class TimeLimit:
    text: str
    duration: Duration
    advisory: bool = False


@dataclass(frozen=True)
class DueSoon:
    """When an open step counts as *due soon*: once the working time left is at most ``duration``, or
    at most ``fraction`` of the step's whole limit (exactly one of the two is set)."""

    text: str  # as written: "2 jam", "1 hari", "25%"
    duration: Duration | None = None
    fraction: float | None = None


@dataclass(frozen=True)
class Escalation:
    """Who is told when a step is late: ``roles`` see the case as escalated once it has been overdue
    for ``after`` of working time (``Duration()``: as soon as it is overdue)."""

    roles: tuple[str, ...]
    after: Duration
    after_text: str = ""


@dataclass(frozen=True)
class PauseReason:
    """A reason a step may be put on hold (LAPOR!'s *Tunda*). Its ``label`` is written for the
    reporter too: the tracking page shows it while the case waits, so no staff text ever leaks."""

    id: str
    label: Text


@dataclass(frozen=True)
class Activity:
    no: int
    id: str
    flow: str
    name: Text
    performers: tuple[str, ...]
    recipients: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    time_limit: TimeLimit | None = None
    output: str = ""
    note: str = ""
    fields: tuple[Field, ...] = ()
    actions: tuple[Action, ...] = ()
    public_status: Text = Text("")  # what the reporter reads while a case is here (empty: a generic text)
    sets_privacy: bool = False  # its performer may set or lift anonim / rahasia
    due_soon: DueSoon | None = None  # None: the SOP's default (see runner.deadlines)
    escalation: Escalation | None = None
    pause_reasons: tuple[PauseReason, ...] = ()  # empty: the step cannot be paused

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def fields_of(self, action: Action) -> tuple[Field, ...]:
        """The fields ``action`` collects: stored when it is taken, discarded for any other action."""
        return tuple(f for f in self.fields if f.id in action.uses)

    @property
    def pausable(self) -> bool:
        return bool(self.pause_reasons)

    def pause_reason(self, reason_id: str | None) -> PauseReason | None:
        return next((r for r in self.pause_reasons if r.id == reason_id), None)

    @property
    def common_fields(self) -> tuple[Field, ...]:
        """Fields every action collects (shown above the buttons)."""
        return tuple(f for f in self.fields if all(f.id in a.uses for a in self.actions))


@dataclass(frozen=True)
class End:
    id: str
    name: Text
    flow: str
    public_message: Text = Text("")
    public_status: Text = Text("")  # the reporter's status text once here (empty: the end's name)


@dataclass(frozen=True)
class Recap:
    """What a scheduled flow's period report breaks its figures down by: the ``select`` fields
    named in ``by`` (e.g. the channel) and, with ``units``, the unit (OPD) a case was routed to."""

    by: tuple[str, ...] = ()
    units: bool = True


@dataclass(frozen=True)
class Response:
    """The reporter's one response to the answer (satisfied / not satisfied, with a comment), offered
    on the tracking page while the case is at one of the ``after`` states (where the answer has been
    given); a *not satisfied* response moves the case to ``not_satisfied`` (an activity of the flow,
    reopening the case there, or an end)."""

    after: tuple[str, ...]
    not_satisfied: str


@dataclass(frozen=True)
class Dashboard:
    """Who sees the SOP's leaders' dashboard: holders of ``roles`` (each over the cases it reaches)."""

    roles: tuple[str, ...]


REPORTER_EVENTS = ("received", "on_hold", "finished")  # what ``notify.reporter.events`` may name
STAFF_EVENTS = ("new_work", "escalation")  # what ``notify.staff`` may name


@dataclass(frozen=True)
class ReporterNotice:
    """Email to the reporter: the intake field holding their address (a value that is not an email
    address, such as a phone number, is never written to), the ``events`` they are told of, and the
    ``steps`` whose start they are told of (e.g. "forwarded to the agency concerned")."""

    email_field: str
    events: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notify:
    """Who a flow's cases email (``runner.services.outbox``): staff for ``staff`` events (new work at
    a step, to the accounts that may act there; an escalation, to the roles it names), the reporter
    as ``reporter`` says. Empty: nobody."""

    staff: tuple[str, ...] = ()
    reporter: ReporterNotice | None = None


@dataclass(frozen=True)
class Flow:
    """A sequence of activities a case follows: per report, or on a schedule (monthly recap)."""

    id: str
    name: Text
    start: str
    schedule: str | None = None  # None: started by a submission; "monthly": one case per month
    started_by: tuple[str, ...] = ()
    intake: tuple[Field, ...] = ()
    title_field: str | None = None
    ends: tuple[End, ...] = ()
    recap: Recap = Recap()  # a scheduled flow's report: what its figures are broken down by
    notify: Notify = Notify()  # who is emailed about its cases
    response: Response | None = None  # the reporter may respond once to the answer (services.responses)
    public_list: bool = False  # answered reports, neither anonim nor rahasia, listed publicly


@dataclass(frozen=True)
class Migration:
    """Where the running cases of older versions go when this revision is published.

    ``steps`` maps an old step id (free: it names a step of an older version) to an activity of this
    version; ``data`` gives values for fields this version expects and older cases never collected.
    The rest of the rule (same id: same step; otherwise stranded) is ``services.revisions``'."""

    steps: tuple[tuple[str, str], ...] = ()
    data: tuple[tuple[str, Any], ...] = ()

    def target(self, old_step: str) -> str | None:
        return dict(self.steps).get(old_step)


@dataclass(frozen=True)
class Sop:
    id: str
    title: Text
    identity: Identity
    calendar: Calendar
    roles: tuple[Role, ...]
    flows: tuple[Flow, ...]
    activities: tuple[Activity, ...]
    version: str = ""  # sha256 of the source text: the version a case records
    source_path: str = ""
    migration: Migration | None = None  # how older versions' running cases move to this one
    due_soon: DueSoon | None = None  # the SOP-wide "due soon" threshold; None: runner.deadlines.DEFAULT_DUE_SOON
    dashboard: Dashboard | None = None  # the leaders' dashboard (services.dashboard); None: no dashboard
    _index: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, Any] = {}
        for r in self.roles:
            index["role:" + r.id] = r
        for f in self.flows:
            index["flow:" + f.id] = f
            for e in f.ends:
                index["end:" + e.id] = e
        for a in self.activities:
            index["activity:" + a.id] = a
        object.__setattr__(self, "_index", index)

    def role(self, role_id: str) -> Role | None:
        return self._index.get("role:" + role_id)

    def flow(self, flow_id: str) -> Flow | None:
        return self._index.get("flow:" + flow_id)

    def activity(self, activity_id: str) -> Activity | None:
        return self._index.get("activity:" + activity_id)

    def end(self, end_id: str) -> End | None:
        return self._index.get("end:" + end_id)

    def performed_by_unit(self, activity: Activity) -> bool:
        """Whether a unit (OPD) performs ``activity``: one of its performer roles is unit-scoped."""
        return any((r := self.role(rid)) is not None and r.unit_scoped for rid in activity.performers)

    def calendar_at(self, state: str, unit_id: str | None) -> Calendar:
        """The calendar the step at ``state`` counts its working time on: the unit's own hours when a
        unit performs the step and the SOP gives that unit a calendar (``calendar.units``), else the
        SOP's. The step's performer decides, not the case: a report routed to a hospital counts the
        hospital's hours only while the hospital holds the step."""
        if unit_id is None or not self.calendar.units:
            return self.calendar
        activity = self.activity(state)
        return self.calendar.for_unit(unit_id) if activity is not None and self.performed_by_unit(activity) \
            else self.calendar

    def state_name(self, state: str) -> Text:
        """The display name of an activity or end id (the id itself for a state this version lacks)."""
        node = self.activity(state) or self.end(state)
        return node.name if node else Text(state)

    def is_end(self, state: str) -> bool:
        return self.end(state) is not None

    @property
    def case_flows(self) -> tuple[Flow, ...]:
        return tuple(f for f in self.flows if f.schedule is None)

    @property
    def scheduled_flows(self) -> tuple[Flow, ...]:
        return tuple(f for f in self.flows if f.schedule is not None)

    def identity_fields(self) -> frozenset[str]:
        """Ids of the intake fields that identify the reporter (masked in an anonymous report)."""
        return frozenset(fld.id for f in self.flows for fld in f.intake if fld.identifies)

    def public_fields(self) -> tuple[Field, ...]:
        seen: dict[str, Field] = {}
        for f in self.flows:
            for fld in f.intake:
                if fld.public:
                    seen.setdefault(fld.id, fld)
        for a in self.activities:
            for fld in a.fields:
                if fld.public:
                    seen.setdefault(fld.id, fld)
        return tuple(seen.values())
