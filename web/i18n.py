"""Bahasa Indonesia by default, English on request; dates in each SOP's own time zone."""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, session
from flask_babel import Babel, get_locale, gettext, ngettext

from runner.definition.model import display
from runner.forms import MESSAGES, FieldError
from web.times import DEFAULT_ZONE, format_time, site_zone


def select_locale() -> str:
    lang = session.get("lang")
    if lang in ("id", "en"):
        return lang
    return "id"  # the agency's language, whatever the browser prefers; English is one click away


def text(value, locale=None) -> str:
    """A definition's display text in the current language (falls back to Bahasa Indonesia)."""
    return display(value, str(locale or get_locale()))


def when(value: dt.datetime | None, tz: str | None = None) -> str:
    """A moment in ``tz`` (the SOP's calendar zone) with its Indonesian name: '2 Des 2026 09.30 WIB'.
    Without a zone (a version's publication, a delegation), the site's zone (``web.times``)."""
    if value is None:
        return ""
    return format_time(value, tz or _site_zone(), str(get_locale()))


def _site_zone() -> str:
    runtime = current_app.extensions.get("sop")
    if runtime is None:
        return DEFAULT_ZONE
    return site_zone(sop.calendar.timezone for sop in runtime.registry.current())


def working_time(minutes: int | None) -> str:
    """'3 jam 20 menit kerja lagi' / 'terlambat 1 jam kerja'."""
    if minutes is None:
        return ""
    span = working_span(minutes)
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
