"""RFC 9457 problem details: how every error under ``/api/`` is answered.

A problem is ``application/problem+json`` with ``type`` (a URI naming the kind of problem, stable for
clients to branch on), ``title`` (the same for every problem of that type), ``status``, ``detail``
(this occurrence) and, for form errors, ``errors`` (field id -> list of ``{code, message}``).
Plain HTTP errors (unknown address, wrong method, body too large, 500) use ``about:blank`` with the
status phrase as title, as the RFC suggests; the runner's own errors have their own types
(``PROBLEM_TYPES``). Texts are English: the API is for programs, which branch on ``type``.

``web/errors.py`` and ``web/abuse.py`` ask ``wants_problem()`` so that an error under ``/api/`` that
no API handler saw (no route matched, 405, the rate limiter's 429) is a problem too, never a page.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Mapping

from flask import Response, json, request

MEDIA_TYPE = "application/problem+json"
BASE = "urn:sop-runner:problem:"

# slug -> (status, title): the runner's own problem types (see README, "JSON API")
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "unauthorized": (401, "A valid API token is needed"),
    "not-found": (404, "Not found"),
    "not-allowed": (403, "Not allowed"),
    "on-hold": (409, "The step is on hold"),
    "case-moved-on": (409, "The case has moved on"),
    "invalid-form": (422, "The form data is not valid"),
    "invalid-request": (422, "The request is not valid"),
    "invalid-input": (400, "The input is not acceptable"),
    "revision-refused": (409, "The revision was refused"),
    "read-only": (503, "This installation is read-only"),
    "storage": (503, "Not saved"),
    "version-unreadable": (503, "The case's SOP version cannot be read"),
    "too-many-requests": (429, "Too many requests"),
}


def wants_problem() -> bool:
    """Whether the current request is the API's (its answers are problems, not HTML pages)."""
    return request.path == "/api" or request.path.startswith("/api/")


def problem(status: int, detail: str = "", *, kind: str | None = None, title: str | None = None,
            errors: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """The response for one problem. ``kind`` is a slug of ``PROBLEM_TYPES``; None is ``about:blank``."""
    if kind is not None:
        status, default_title = PROBLEM_TYPES[kind]
        body: dict[str, Any] = {"type": BASE + kind, "title": title or default_title}
    else:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        body = {"type": "about:blank", "title": title or phrase}
    body["status"] = status
    body["detail"] = detail or body["title"]
    if errors:
        body["errors"] = dict(errors)
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


DETAILS = {
    400: "The request could not be read.",
    401: "Send a valid API token as 'Authorization: Bearer <token>'.",
    403: "This account may not do this. Nothing was changed.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request body is too large.",
    415: "Send the body as application/json.",
    500: "Something went wrong; the error was logged. Nothing was saved.",
    503: "The service cannot answer now. Nothing was saved.",
}


def for_status(status: int, detail: str | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """A plain HTTP error as a problem (``about:blank``)."""
    return problem(status, detail or DETAILS.get(status, ""), headers=headers)
