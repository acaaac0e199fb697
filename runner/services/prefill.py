"""The first values of a step's form: each field's own stored value, or what its ``prefill`` names.

A field starts with the value stored under its own id (step 8 of LAPOR shows the answer drafted in
step 6, which has the same id). A field with ``prefill`` starts with the latest value of the earlier
field it names instead — step 9's answer for the reporter with step 8's answer of the OPD — unless
its own value was recorded later: a case returned from step 9 to step 8 and answered again brings
the OPD's new answer, while what Admin Utama typed at step 9 after the OPD's last answer is kept.
"Latest" is by history sequence, so the rule is the same on every database and needs no clock.

Identity fields hidden from this reader are never put into a form (the loader also refuses a
``prefill`` from a field that identifies the reporter): a masked "•••" must not be sent back as data.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..definition import Activity, Field
from ..store import HistoryEntry

_EMPTY = (None, "")


def latest_value(entries: Sequence[HistoryEntry], field_id: str,
                 activity_id: str | None = None) -> tuple[int, Any] | None:
    """(history seq, value) of the newest entry holding a value for ``field_id`` — recorded by
    ``activity_id`` only, when given; None when no entry holds one. ``entries`` are in seq order."""
    for e in reversed(entries):
        if activity_id is not None and e.activity != activity_id:
            continue
        value = (e.data or {}).get(field_id)
        if value not in _EMPTY:
            return e.seq, value
    return None


def _own(data: Mapping[str, Any], entries: Sequence[HistoryEntry], f: Field) -> tuple[int, Any] | None:
    value = data.get(f.id)
    if value in _EMPTY:
        return None
    found = latest_value(entries, f.id)
    return (found[0] if found is not None else 0), value  # 0: set without a step (a revision's data)


def initial_values(activity: Activity, data: Mapping[str, Any], entries: Sequence[HistoryEntry],
                   hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The form's first value of each of ``activity``'s fields the reader may see (``data``: the
    case's data; ``entries``: its history in seq order; ``hidden``: ids masked for this reader)."""
    out: dict[str, Any] = {}
    for f in activity.fields:
        if f.id in hidden:
            continue
        own = _own(data, entries, f)
        source = None
        if f.prefill is not None and f.prefill.field not in hidden:
            source = latest_value(entries, f.prefill.field, f.prefill.activity)
        chosen = source if source is not None and (own is None or source[0] > own[0]) else own
        out[f.id] = chosen[1] if chosen is not None else None
    return out
