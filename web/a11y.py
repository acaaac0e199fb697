"""What the form templates need to be usable by keyboard and screen reader, without script.

After a refused form the reader must land on what needs fixing. ``autofocus`` on the first invalid
field does that in every browser, with JavaScript off too, and keeps the Content-Security-Policy
strict (no inline script). Only one element of a page may carry it, so ``first_invalid()`` answers
True once per request: ``_fields.html`` asks it for each field with an error, in page order.

``error_summary`` gives the message at the top of a refused form its list of links to the marked
fields (label and message), in the order the fields appear on the page.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from flask import Flask, g


def first_invalid() -> bool:
    """True for the first caller in this request (the first field with an error gets autofocus)."""
    if g.get("_a11y_focus_given"):
        return False
    g._a11y_focus_given = True
    return True


def summary_items(errors: Mapping[str, Any] | None, fields: Iterable[Any]) -> list[tuple[str, Any, Any]]:
    """(field id, field, error) for each field with an error, in the order of ``fields``; errors of
    fields not on the page (a form key no field renders) come last, with ``None`` for the field."""
    if not errors:
        return []
    seen: set[str] = set()
    items: list[tuple[str, Any, Any]] = []
    for f in fields:
        if f.id in errors and f.id not in seen:
            seen.add(f.id)
            items.append((f.id, f, errors[f.id]))
    items.extend((key, None, error) for key, error in errors.items() if key not in seen)
    return items


def init_app(app: Flask) -> None:
    app.jinja_env.globals["first_invalid"] = first_invalid
    app.jinja_env.globals["summary_items"] = summary_items


__all__ = ["first_invalid", "init_app", "summary_items"]
