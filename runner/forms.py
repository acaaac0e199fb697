"""Server-side validation of a step's form against the fields the YAML declares.

Browsers can be bypassed, so every value is checked here whatever the HTML said. Errors carry a code
and parameters rather than finished sentences: the web layer translates them (Bahasa Indonesia by
default) while the CLI and tests can read the English template.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from .definition.model import Field


def N_(message: str) -> str:
    """Marks a message for translation extraction without translating it here."""
    return message


MESSAGES = {
    "required": N_("This field is required."),
    "too_long": N_("At most %(max)s characters."),
    "not_number": N_("Enter a number."),
    "too_small": N_("Must be at least %(min)s."),
    "too_large": N_("Must be at most %(max)s."),
    "not_date": N_("Enter a date as YYYY-MM-DD."),
    "not_email": N_("Enter a valid email address."),
    "not_phone": N_("Enter a valid phone number."),
    "not_option": N_("Choose one of the options."),
    "not_unit": N_("Choose one of the listed units."),
}

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{6,20}$")
_TRUE = {"on", "true", "1", "yes", "ya", "y"}
MAX_TEXT = 20_000  # a hard cap even where the YAML sets none


@dataclass(frozen=True)
class FieldError:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return MESSAGES[self.code] % dict(self.params)

    def __str__(self) -> str:
        return self.message


def clean(
    fields: Iterable[Field],
    raw: Mapping[str, Any],
    *,
    also_required: Iterable[str] = (),
    units: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, FieldError]]:
    """Return (values, errors). Values hold every declared field (None when left empty)."""
    values: dict[str, Any] = {}
    errors: dict[str, FieldError] = {}
    extra = set(also_required)
    for f in fields:
        value = raw.get(f.id)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        try:
            values[f.id] = _clean_one(f, value, required=f.required or f.id in extra, units=units or {})
        except _Invalid as exc:
            errors[f.id] = exc.error
    return values, errors


class _Invalid(Exception):
    def __init__(self, code: str, **params: Any):
        self.error = FieldError(code, params)


def _clean_one(f: Field, value: Any, *, required: bool, units: Mapping[str, str]) -> Any:
    if f.type == "checkbox":
        checked = value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)
        if required and not checked:
            raise _Invalid("required")
        return checked
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise _Invalid("required")
        return None
    if f.type in ("text", "textarea", "email", "tel"):
        limit = min(f.max_length or MAX_TEXT, MAX_TEXT)
        if len(text) > limit:
            raise _Invalid("too_long", max=limit)
        if f.type == "text":
            text = " ".join(text.split())  # one line: newlines and tabs pasted in are folded
        if f.type == "email" and not _EMAIL_RE.match(text):
            raise _Invalid("not_email")
        if f.type == "tel" and not _PHONE_RE.match(text):
            raise _Invalid("not_phone")
        return text
    if f.type == "number":
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise _Invalid("not_number") from None
        # A huge exponent ("1e999999999") would make int() below build a billion-digit number.
        if not number.is_finite() or number.adjusted() > 30:
            raise _Invalid("not_number")
        if f.min is not None and number < Decimal(str(f.min)):
            raise _Invalid("too_small", min=f.min)
        if f.max is not None and number > Decimal(str(f.max)):
            raise _Invalid("too_large", max=f.max)
        return int(number) if number == number.to_integral_value() else float(number)
    if f.type == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise _Invalid("not_date") from None
    if f.type == "select":
        if text not in {o.value for o in f.options}:
            raise _Invalid("not_option")
        return text
    if f.type == "unit":
        if text not in units:
            raise _Invalid("not_unit")
        return text
    raise AssertionError(f"unknown field type {f.type}")  # pragma: no cover - the schema forbids it
