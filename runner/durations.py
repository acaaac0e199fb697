"""Time limits as SOP tables write them ("7,5 jam", "30 menit", "4 hari") or as ISO 8601.

An SOP's *WAKTU* column is free text in Indonesian with a decimal comma. We accept that text and ISO
8601 durations, and normalise both to a :class:`Duration` of working days plus working minutes.
Days and hours are kept apart on purpose: "4 hari" means four *working days* (the office's day,
whatever its hours), not 96 hours, so it cannot be folded into minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_UNIT_MINUTES = {
    "menit": 1, "mnt": 1, "minute": 1, "minutes": 1, "min": 1,
    "jam": 60, "hour": 60, "hours": 60, "h": 60,
}
_UNIT_DAYS = {"hari": 1, "day": 1, "days": 1, "hari kerja": 1, "minggu": 5, "week": 5, "weeks": 5}

_TEXT_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-zA-Z]+(?:\s+kerja)?)\s*$")
_ISO_RE = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$"
)


class DurationError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Duration:
    """A working-time span: whole working days plus working minutes."""

    days: int = 0
    minutes: int = 0

    def iso(self) -> str:
        """ISO 8601 text with whole hours and minutes (``PT7H30M``) and days as working days (``P4D``)."""
        if not self.days and not self.minutes:
            return "PT0M"
        out = "P"
        if self.days:
            out += f"{self.days}D"
        if self.minutes:
            hours, minutes = divmod(self.minutes, 60)
            out += "T"
            if hours:
                out += f"{hours}H"
            if minutes:
                out += f"{minutes}M"
        return out

    def __bool__(self) -> bool:
        return bool(self.days or self.minutes)


def parse(text: str) -> Duration:
    """Parse an SOP time limit. Raises DurationError with a message an admin can act on."""
    if not isinstance(text, str) or not text.strip():
        raise DurationError("time limit is empty")
    raw = text.strip()
    iso = _ISO_RE.match(raw.upper())
    if iso:
        parts = {k: int(v) for k, v in iso.groupdict().items() if v}
        return Duration(
            days=parts.get("weeks", 0) * 5 + parts.get("days", 0),
            minutes=parts.get("hours", 0) * 60 + parts.get("minutes", 0),
        )
    match = _TEXT_RE.match(raw)
    if not match:
        raise DurationError(
            f"cannot read time limit '{raw}'; write it like '7,5 jam', '30 menit', '4 hari' or ISO 8601 'PT7H30M'"
        )
    number_text, unit = match.group(1).replace(",", "."), " ".join(match.group(2).lower().split())
    try:
        number = Decimal(number_text)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        raise DurationError(f"'{match.group(1)}' is not a number") from None
    if unit in _UNIT_MINUTES:
        minutes = number * _UNIT_MINUTES[unit]
        if minutes != minutes.to_integral_value():
            raise DurationError(f"time limit '{raw}' is not a whole number of minutes")
        return Duration(minutes=int(minutes))
    if unit in _UNIT_DAYS:
        days = number * _UNIT_DAYS[unit]
        if days != days.to_integral_value():
            raise DurationError(f"time limit '{raw}': part days are not supported; write the limit in hours ('jam') instead")
        return Duration(days=int(days))
    known = ", ".join(sorted(set(_UNIT_MINUTES) | set(_UNIT_DAYS)))
    raise DurationError(f"unknown time unit '{match.group(2)}' in '{raw}' (known: {known})")
