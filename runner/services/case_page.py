"""The staff case page as a reader meets it: the report, what the step needs, why it came back, what happened.

``case_view`` says what the case *is*; this module orders it for the person who has to act on it,
so the template only lays it out:

* **report** — the intake once, with option labels ("Situs web LAPOR!", not ``web``), unit names and
  yes/no for checkboxes, identity masked where ``privacy`` says (``case_view`` already masked it).
  The title field is left out: it is the page's heading.
* **requirements** — the open step's ``requirements`` (persyaratan/kelengkapan) as a checklist.
* **returned** — when the open step was reached by an action that *returns* the case (see
  :func:`returns`): who sent it back, when, and the values of the fields that action requires (its
  reason), so nobody has to find item 8 at the bottom of the history.
* **timeline** — every history entry with who (and on whose behalf), when, the step and action, the
  values it recorded as labels, and the working time it took against the step's limit
  (``step_times``). The opening entry's values are the report: they are not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..definition import Field, Sop, Text
from ..privacy import MASK

if TYPE_CHECKING:
    import datetime as dt

    from .cases import CaseView, HistoryItem
    from .step_times import StepTime


@dataclass(frozen=True)
class Shown:
    """A stored value as a reader sees it: ``text`` is an option's label, a unit's name, the mask,
    the stored text, or a bool for a checkbox (the template words it Ya / Tidak)."""

    field: Field
    value: Any
    text: Text | str | bool


@dataclass(frozen=True)
class Returned:
    """The case came back to this step: the entry that brought it, and the reason it gives."""

    seq: int
    at: dt.datetime
    actor_name: str
    role_name: Text | str
    unit_name: str | None
    on_behalf_of: str | None
    acting_as: str | None
    from_step: Text | str  # "7. …": the step that sent it back
    action_label: Any
    reasons: tuple[Shown, ...]


@dataclass(frozen=True)
class TimelineEntry:
    item: HistoryItem
    values: tuple[Shown, ...]
    took: StepTime | None
    opening: bool  # the case was opened: its values are the report above
    returned: bool  # this entry sent the case back (see ``returns``)


@dataclass(frozen=True)
class CasePage:
    report: tuple[Shown, ...]
    requirements: tuple[str, ...]
    returned: Returned | None
    timeline: tuple[TimelineEntry, ...]


def returns(sop: Sop, activity_id: str | None, target: str | None) -> bool:
    """Whether an action of ``activity_id`` leading to ``target`` sends the case *back*: the target
    is an activity of the same flow with a lower number. The numbers are the rows of the SOP table,
    which runs in the order the work is done, so a lower row is an earlier step ("kembalikan untuk
    diperbaiki", "bukan wewenang"); a jump forward or to an end is not a return. No key in the
    language marks it: the table already says it, and a revision cannot forget to."""
    source = sop.activity(activity_id) if activity_id else None
    dest = sop.activity(target) if target else None
    return source is not None and dest is not None and dest.flow == source.flow and dest.no < source.no


def shown(f: Field, value: Any, units: Mapping[str, str]) -> Shown:
    """``value`` of ``f`` for reading (never for a form: a select shows its label, a unit its name)."""
    if value == MASK:
        return Shown(f, value, MASK)
    if isinstance(value, bool):
        return Shown(f, value, value)
    if f.type == "unit":
        return Shown(f, value, units.get(str(value), str(value)))
    return Shown(f, value, f.shown(value))


def case_page(view: CaseView) -> CasePage:
    """Everything the staff case page shows beyond ``view`` itself, ordered for reading."""
    sop, units = view.sop, view.units
    title_field = view.flow.title_field
    report = tuple(shown(f, v, units) for f, v in view.case_data if f.id != title_field)
    timeline = tuple(_entry(sop, h, units, view.step_times.get(h.seq)) for h in view.history)
    return CasePage(
        report=report,
        requirements=view.activity.requirements if view.activity is not None and view.actions else (),
        returned=_returned(view, timeline),
        timeline=timeline,
    )


def _entry(sop: Sop, h: HistoryItem, units: Mapping[str, str], took: StepTime | None) -> TimelineEntry:
    opening = h.activity_id is None and h.action_id is None
    real = h.action_id is not None and not h.action_id.startswith("__")
    return TimelineEntry(
        item=h, values=() if opening else tuple(shown(f, v, units) for f, v in h.values), took=took,
        opening=opening, returned=real and returns(sop, h.activity_id, h.to_state),
    )


def _returned(view: CaseView, timeline: tuple[TimelineEntry, ...]) -> Returned | None:
    """The return that brought the case to its open step, if the last action taken was one. Entries
    that keep the step (on hold, resumed, escalated, moved to a revision) do not change that."""
    if view.activity is None or view.case.closed_at is not None:
        return None
    last = next((t for t in reversed(timeline)
                 if t.item.action_id is not None and not t.item.action_id.startswith("__")), None)
    if last is None or not last.returned or last.item.to_state != view.case.state:
        return None
    h = last.item
    source = view.sop.activity(h.activity_id or "")
    action = source.action(h.action_id or "") if source is not None else None
    required = action.requires if action is not None else ()
    reasons = tuple(s for s in last.values if s.field.id in required) or last.values
    return Returned(
        seq=h.seq, at=h.at, actor_name=h.actor_name, role_name=h.role_name, unit_name=h.unit_name,
        on_behalf_of=h.on_behalf_of, acting_as=h.acting_as, from_step=h.step_name, action_label=h.action_label,
        reasons=reasons,
    )
