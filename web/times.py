"""Times as people in Indonesia read them: local time in the SOP's zone, named WIB, WITA or WIT.

Babel names the Indonesian zones only in the ``id`` locale; in English its ``zzz`` gives "+0700", and
the issue was that staff read "+0700" where they expect "WIB". The names are fixed by law
(Keppres 41/1987: Waktu Indonesia Barat / Tengah / Timur), so they are a small table of IANA zones
here, the same in both languages, and nothing in it knows about any particular SOP. A zone outside
the table shows its own abbreviation when the tz database has a real one ("UTC", "CET"), else its
offset ("UTC+05:30"): never a bare "+0530".

Times without an SOP of their own (a version's publication, a delegation) are shown in the site's
zone: the zone most of the loaded SOPs' calendars use, since those calendars are the agency's clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

# IANA zone -> the Indonesian name of its time (including the tz database's old aliases).
ZONE_NAMES: dict[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}

# The date and time pattern per language: Indonesian writes the time with a dot (09.30, PUEBI).
PATTERNS: dict[str, str] = {"id": "d MMM y HH.mm", "en": "d MMM y HH:mm"}
DEFAULT_ZONE = "UTC"


def zone(name: str | None) -> ZoneInfo:
    """The zone called ``name``; an unknown or empty name falls back to UTC rather than failing a page
    (definitions are checked at load, so this is only a safety net for stored history)."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def zone_name(moment: dt.datetime, tz: str | None) -> str:
    """WIB / WITA / WIT for Indonesia's zones; else the abbreviation, else "UTC±hh[:mm]"."""
    name = ZONE_NAMES.get(tz or "")
    if name:
        return name
    local = moment.astimezone(zone(tz))
    abbreviation = local.tzname() or ""
    if abbreviation and abbreviation[0].isalpha():
        return abbreviation
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}" + (f":{mins:02d}" if mins else "")


def format_time(value: dt.datetime | None, tz: str | None, locale: str) -> str:
    """'2 Des 2026 09.30 WIB' (id) / '2 Dec 2026 09:30 WIB' (en); '' for no time.

    A naive value is taken as UTC: the store keeps every moment in UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    language = locale.split("_")[0]
    local = value.astimezone(zone(tz))
    shown = format_datetime(local, PATTERNS.get(language, PATTERNS["en"]), locale=language)
    return f"{shown} {zone_name(value, tz)}"


def site_zone(zones: Iterable[str]) -> str:
    """The zone most of these calendars use (ties: the first in name order); UTC for none."""
    counts = Counter(z for z in zones if z)
    if not counts:
        return DEFAULT_ZONE
    return min(counts, key=lambda z: (-counts[z], z))


__all__ = ["DEFAULT_ZONE", "PATTERNS", "ZONE_NAMES", "format_time", "site_zone", "zone", "zone_name"]
