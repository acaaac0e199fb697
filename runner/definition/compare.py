"""What changed between two versions of a definition, in the words an admin reviews a revision in.

A line diff of the YAML shows *where* the text changed; this says *what* it means: steps added or
removed, a step renamed (same id, new name) or re-identified (same name, new id: running cases at the
old id would be stranded, so it is worth seeing apart from "one removed, one added"), roles added or
removed, time limits and performers changed. Pure: two :class:`Sop` in, a :class:`Comparison` out,
no I/O, so the admin pages, a CLI or a test can all ask it.

Steps are the activities. A step is matched to its counterpart by id first; the steps left over on
each side are matched by name (in the order of their numbers), and only what is still unmatched is
"added" or "removed". Time limits are compared by duration and advisory flag, so rewriting "7,5 jam"
as "PT7H30M" is not a change; performers as a set, so reordering them is not one either.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Activity, Sop, Text, display

_LOCALES = ("id", "en")


@dataclass(frozen=True)
class StepRef:
    id: str
    no: int
    name: str | Text


@dataclass(frozen=True)
class Renamed:
    """The same step under a new name (``id`` kept) or a new id (``name`` kept)."""

    old: StepRef
    new: StepRef


@dataclass(frozen=True)
class RoleRef:
    id: str
    name: str | Text


@dataclass(frozen=True)
class LimitChange:
    step: StepRef  # as the new version has it
    old: str | None  # the time limit as written, None for none
    new: str | None


@dataclass(frozen=True)
class PerformersChange:
    step: StepRef
    old: tuple[str, ...]  # role ids, sorted
    new: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    steps_added: tuple[StepRef, ...] = ()
    steps_removed: tuple[StepRef, ...] = ()
    steps_renamed: tuple[Renamed, ...] = ()  # same id, new name
    step_ids_changed: tuple[Renamed, ...] = ()  # same name, new id
    roles_added: tuple[RoleRef, ...] = ()
    roles_removed: tuple[RoleRef, ...] = ()
    time_limits_changed: tuple[LimitChange, ...] = ()
    performers_changed: tuple[PerformersChange, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether any of the reviewed kinds of change is present (a text may differ in other ways)."""
        return any((self.steps_added, self.steps_removed, self.steps_renamed, self.step_ids_changed,
                    self.roles_added, self.roles_removed, self.time_limits_changed, self.performers_changed))


def _name_key(value: str | Text) -> tuple[str, ...]:
    """A name as readers see it, in every language (a changed translation is a rename too)."""
    return tuple(display(value, locale).strip() for locale in _LOCALES)


def _ref(activity: Activity) -> StepRef:
    return StepRef(activity.id, activity.no, activity.name)


def _limit(activity: Activity) -> tuple[str, bool] | None:
    tl = activity.time_limit
    return (tl.duration.iso(), tl.advisory) if tl is not None else None


def _limit_text(activity: Activity) -> str | None:
    tl = activity.time_limit
    if tl is None:
        return None
    return f"{tl.text} (advisory)" if tl.advisory else tl.text


def compare(old: Sop, new: Sop) -> Comparison:
    """The reviewed changes from ``old`` to ``new`` (normally two versions of one SOP)."""
    old_steps = {a.id: a for a in old.activities}
    new_steps = {a.id: a for a in new.activities}
    pairs: list[tuple[Activity, Activity]] = [(old_steps[i], new_steps[i]) for i in new_steps if i in old_steps]
    renamed = tuple(Renamed(_ref(a), _ref(b)) for a, b in pairs if _name_key(a.name) != _name_key(b.name))

    # Left over on both sides: a step that kept its name but changed its id is one step, not two.
    gone = sorted((a for i, a in old_steps.items() if i not in new_steps), key=lambda a: a.no)
    came = sorted((b for i, b in new_steps.items() if i not in old_steps), key=lambda b: b.no)
    id_changed: list[Renamed] = []
    for b in list(came):
        match = next((a for a in gone if _name_key(a.name) == _name_key(b.name)), None)
        if match is not None:
            gone.remove(match)
            came.remove(b)
            id_changed.append(Renamed(_ref(match), _ref(b)))
            pairs.append((match, b))
    pairs.sort(key=lambda p: p[1].no)

    old_roles = {r.id: r for r in old.roles}
    new_roles = {r.id: r for r in new.roles}
    return Comparison(
        steps_added=tuple(_ref(b) for b in came),
        steps_removed=tuple(_ref(a) for a in gone),
        steps_renamed=renamed,
        step_ids_changed=tuple(id_changed),
        roles_added=tuple(RoleRef(r.id, r.name) for i, r in new_roles.items() if i not in old_roles),
        roles_removed=tuple(RoleRef(r.id, r.name) for i, r in old_roles.items() if i not in new_roles),
        time_limits_changed=tuple(LimitChange(_ref(b), _limit_text(a), _limit_text(b))
                                  for a, b in pairs if _limit(a) != _limit(b)),
        performers_changed=tuple(PerformersChange(_ref(b), tuple(sorted(set(a.performers))),
                                                  tuple(sorted(set(b.performers))))
                                 for a, b in pairs if set(a.performers) != set(b.performers)),
    )


__all__ = ["Comparison", "LimitChange", "PerformersChange", "Renamed", "RoleRef", "StepRef", "compare"]
