"""Abuse limits (Flask-Limiter): login throttling, and rate limits on the citizens' pages.

* Sign-in (``auth.login``, POST only): only *failed* attempts (401) count, per account and per
  client address. When a limit is reached every attempt is refused with 429 — a correct password
  too — until the window ends; the tiers make the wait grow (by default 5 failures per account in
  15 minutes, then 10 in an hour, then 20 in a day; 20 per address in 15 minutes, then 50 in a
  day). The account is keyed on an HMAC (with ``SECRET_KEY``) of the username as a login
  normalises it (stripped, lower case), so neither the storage nor a log holds what was typed.
* The public report form (``public.submit``, POST only): reports filed per address (by default 3 a
  minute, 10 an hour) and, looser, every post (30 an hour), so invalid posts cannot flood either.
* The tracking page (``public.track``): 60 lookups a minute per address; the public list of
  answered reports (``citizens.reports``) and the reporter's file downloads
  (``attachments.public_download``, which take a tracking code too) share that budget.
* The reporter's response to an answer (``citizens.respond``, POST only): limited like the report
  form, with counters of its own.
* The JSON API's report and tracking endpoints (``web/api.py``) share the two limits above: the
  counters are per address, not per door. Its refusals are 429 problem documents.

Every refusal is a 429 page in the visitor's language that says how long to wait, with a
``Retry-After`` header; a refused sign-in is logged as ``login.throttled`` with the account id (or
``-`` when no account has that name), never the typed name or the password.

One ``Limiter`` per app (made in ``init_app``), wrapping the three views after the blueprints are
registered: apps made in one process (the tests make many) never share counters. The counters live
in ``RATELIMIT_STORAGE_URI`` (``SOP_RATELIMIT_STORAGE``): ``memory://`` is per worker process, so
with N gunicorn workers a client gets up to N times the limits; ``redis://host:6379`` shares them.
If that storage stops answering, each worker falls back to its own memory and keeps limiting.

App config (tests lower them or switch everything off with ``RATELIMIT_ENABLED=False``): the limit
strings ``SOP_LIMIT_LOGIN_ACCOUNT``, ``SOP_LIMIT_LOGIN_ADDRESS``, ``SOP_LIMIT_REPORT``,
``SOP_LIMIT_REPORT_POSTS``, ``SOP_LIMIT_TRACK`` in Flask-Limiter's notation ("5 per 15 minutes; 10
per hour").
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import time
from typing import Any

from flask import Flask, current_app, g, make_response, render_template, request
from flask.wrappers import Response
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter import Limiter, RequestLimit, RouteLimit
from limits import parse_many
from werkzeug.exceptions import HTTPException

from runner.errors import ConfigurationError
from runner.logs import event
from runner.services.accounts import normalise_username, user_id_for

from . import db, problems

log = logging.getLogger(__name__)

DEFAULTS = {
    "SOP_LIMIT_LOGIN_ACCOUNT": "5 per 15 minutes; 10 per hour; 20 per day",
    "SOP_LIMIT_LOGIN_ADDRESS": "20 per 15 minutes; 50 per day",
    "SOP_LIMIT_REPORT": "3 per minute; 10 per hour",
    "SOP_LIMIT_REPORT_POSTS": "30 per hour",
    "SOP_LIMIT_TRACK": "60 per minute",
}
_ACCOUNT, _ADDRESS = "account:", "address:"


def normalised_username() -> str:
    """The username of this sign-in as ``authenticate`` looks it up. A body too large to read (413)
    counts as no username: the error must not look to Flask-Limiter like a storage failure, which
    would make it start counting afresh."""
    try:
        typed = request.form.get("username")
    except HTTPException:
        typed = None
    return normalise_username(typed)


def account_key() -> str:
    secret = str(current_app.config.get("SECRET_KEY") or "").encode()
    digest = hmac.new(secret, b"login-throttle\0" + normalised_username().encode(), hashlib.sha256)
    return _ACCOUNT + digest.hexdigest()[:32]


def address_key() -> str:
    """The client address (the socket's, or the proxy's X-Forwarded-For with ``SOP_PROXY_HOPS``);
    an IPv6 client is counted by its /64, which one subscriber usually holds whole."""
    addr = request.remote_addr or "-"
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return _ADDRESS + addr
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _ADDRESS + str(ip.ipv4_mapped)
        return _ADDRESS + str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return _ADDRESS + str(ip)


def wait_text(seconds: int) -> str:
    """How long to wait, in words a person reads at a glance (rounded up)."""
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return ngettext("%(num)d hour", "%(num)d hours", math.ceil(minutes / 60))


def _on_breach(limit: RequestLimit) -> None:
    """Called once per limit reached (all are checked): the latest reset wins."""
    info = g.setdefault("sop_throttled", {"reset": 0.0, "by": set()})
    info["reset"] = max(info["reset"], float(limit.window.reset_time))  # reset_at adds a second
    for arg in limit.request_args:
        if arg.startswith(_ACCOUNT):
            info["by"].add("account")
        elif arg.startswith(_ADDRESS):
            info["by"].add("address")


def _too_many(_e: Exception) -> Response:
    info: dict[str, Any] = g.get("sop_throttled") or {"reset": time.time() + 60, "by": set()}
    wait = max(1, math.ceil(info["reset"] - time.time()))
    if problems.wants_problem():  # the JSON API: a problem document, the same Retry-After
        event(log, "request.throttled", logging.WARNING, endpoint=request.endpoint or "-", retry_after=wait)
        return problems.problem(429, f"Too many requests from this address; try again in {wait} seconds.",
                                kind="too-many-requests", headers={"Retry-After": str(wait)})
    how_long = wait_text(wait)
    if request.endpoint == "auth.login":
        try:
            account: object = user_id_for(db.session(), normalised_username()) or "-"
        except Exception:  # the refusal must not depend on the database answering
            log.exception("login.throttled: account lookup failed")
            account = "-"
        event(log, "login.throttled", logging.WARNING, account=account, by=",".join(sorted(info["by"])) or "-",
              retry_after=wait)
        body = render_template("login.html", error=_(
            "Too many failed sign-in attempts. Try again in %(wait)s. Until then every attempt is "
            "refused, even with the correct password.", wait=how_long))
    else:
        if request.endpoint == "public.submit":
            title = _("Too many reports at once")
            message = _("Many reports were sent from your connection in a short time. Please wait %(wait)s "
                        "and send it again. Your report was not saved yet: go back with your browser's Back "
                        "button to keep what you wrote.", wait=how_long)
        elif request.endpoint == "public.track":
            title = _("Too many lookups at once")
            message = _("The tracking page was opened many times from your connection in a short time. "
                        "Please wait %(wait)s and try again.", wait=how_long)
        else:
            title = _("Too many requests")
            message = _("Please wait %(wait)s and try again.", wait=how_long)
        event(log, "request.throttled", logging.WARNING, endpoint=request.endpoint or "-", retry_after=wait)
        body = render_template("error.html", title=title, message=message, status=429)
    response = make_response(body, 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _api_token_holder() -> bool:
    return request.blueprint == "api" and "Authorization" in request.headers


def _check(app: Flask, key: str) -> str:
    value = str(app.config.get(key) or "")
    try:
        if not parse_many(value):
            raise ValueError(value)
    except ValueError as exc:
        raise ConfigurationError(f"{key}={value!r} is not a rate limit",
                                 hint='write it like "5 per 15 minutes; 10 per hour"') from exc
    return value


def init_app(app: Flask) -> Limiter:
    """Limit the sign-in, report and tracking views of ``app`` (call after registering blueprints)."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limits = {key: _check(app, key) for key in DEFAULTS}
    limiter = Limiter(address_key, storage_uri=app.config["RATELIMIT_STORAGE_URI"], strategy="fixed-window",
                      fail_on_first_breach=False, on_breach=_on_breach, in_memory_fallback_enabled=True,
                      key_prefix="sop")
    try:
        limiter.init_app(app)
    except Exception as exc:  # a storage URI limits cannot use, or its client library missing
        raise ConfigurationError(f"the rate-limit storage {app.config['RATELIMIT_STORAGE_URI']!r} cannot be used: {exc}",
                                 hint="set SOP_RATELIMIT_STORAGE to memory:// or redis://host:6379 "
                                      "(the latter needs `pip install redis`)") from exc

    def failed(response: Response) -> bool:
        return response.status_code == 401

    def filed(response: Response) -> bool:  # the page redirects to the receipt; the API answers 201
        return response.status_code in (201, 302, 303)

    def wrap(endpoint: str, *route_limits: RouteLimit) -> None:
        view: Any = app.view_functions[endpoint]
        for route_limit in route_limits:
            view = route_limit(view)
        app.view_functions[endpoint] = view

    wrap("auth.login",
         limiter.limit(limits["SOP_LIMIT_LOGIN_ACCOUNT"], key_func=account_key, methods=["POST"], deduct_when=failed),
         limiter.limit(limits["SOP_LIMIT_LOGIN_ADDRESS"], key_func=address_key, methods=["POST"], deduct_when=failed))
    # Shared limits: the JSON API's report and tracking endpoints (web/api.py) count against the same
    # budgets per address as the pages, whichever door a client uses.
    # A request with an API token is an account's, as on the staff pages (not limited); a token that
    # is not valid is answered 401 before anything is filed.
    report = (limiter.shared_limit(limits["SOP_LIMIT_REPORT"], scope="report-filed", methods=["POST"],
                                   deduct_when=filed, exempt_when=_api_token_holder),
              limiter.shared_limit(limits["SOP_LIMIT_REPORT_POSTS"], scope="report-posts", methods=["POST"],
                                   exempt_when=_api_token_holder))
    track = limiter.shared_limit(limits["SOP_LIMIT_TRACK"], scope="track")
    for endpoint in ("public.submit", "api.submit_report"):
        if endpoint in app.view_functions:
            wrap(endpoint, *report)
    for endpoint in ("public.track", "api.track", "attachments.public_download"):  # each tries a code
        if endpoint in app.view_functions:
            wrap(endpoint, track)
    # The reporter's response to an answer (web/citizens.py) is limited like the report form, with
    # counters of its own; the public list of answered reports shares the tracking page's budget.
    if "citizens.respond" in app.view_functions:
        wrap("citizens.respond",
             limiter.limit(limits["SOP_LIMIT_REPORT"], methods=["POST"], deduct_when=filed, scope="response-filed"),
             limiter.limit(limits["SOP_LIMIT_REPORT_POSTS"], methods=["POST"], scope="response-posts"))
    if "citizens.reports" in app.view_functions:
        wrap("citizens.reports", track)
    app.register_error_handler(429, _too_many)
    app.extensions["sop_limiter"] = limiter
    return limiter
