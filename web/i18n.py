"""Bahasa Indonesia by default, English on request; dates in each SOP's own time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Flask, session
from flask_babel import Babel, get_locale, gettext, ngettext

from runner.definition.model import display
from runner.forms import MESSAGES, FieldError


def select_locale() -> str:
    lang = session.get("lang")
    if lang in ("id", "en"):
        return lang
    return "id"  # the agency's language, whatever the browser prefers; English is one click away


def text(value, locale=None) -> str:
    """A definition's display text in the current language (falls back to Bahasa Indonesia)."""
    return display(value, str(locale or get_locale()))


def when(value: dt.datetime | None, tz: str = "UTC") -> str:
    if value is None:
        return ""
    return format_datetime(value.astimezone(ZoneInfo(tz)), "EEE d MMM y HH:mm zzz", locale=str(get_locale()))


def working_time(minutes: int | None) -> str:
    """'3 jam 20 menit kerja lagi' / 'terlambat 1 jam kerja'."""
    if minutes is None:
        return ""
    hours, mins = divmod(abs(minutes), 60)
    parts = []
    if hours:
        parts.append(ngettext("%(num)d working hour", "%(num)d working hours", hours))
    if mins or not hours:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", mins))
    span = " ".join(parts)
    return gettext("%(span)s left", span=span) if minutes >= 0 else gettext("late by %(span)s", span=span)


def working_span(minutes: int | None) -> str:
    """A plain span of working time: '3 jam kerja 20 menit' (for "took X of Y")."""
    if minutes is None:
        return ""
    hours, mins = divmod(abs(minutes), 60)
    parts = []
    if hours:
        parts.append(ngettext("%(num)d working hour", "%(num)d working hours", hours))
    if mins or not hours:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", mins))
    return " ".join(parts)


def field_error(error: FieldError) -> str:
    return gettext(MESSAGES[error.code], **dict(error.params))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters["t"] = text
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["working_time"] = working_time
    app.jinja_env.filters["working_span"] = working_span
    app.jinja_env.filters["field_error"] = field_error
    app.jinja_env.globals["get_locale"] = get_locale
