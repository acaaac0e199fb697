"""A request id on every log line of a request, echoed to the client as ``X-Request-ID``.

A proxy's or client's id is kept when it looks like one (letters, digits, ``._-``, up to 64), so a
line in our log can be matched with the proxy's; anything else is replaced by a fresh id rather
than copied into the log.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

from runner.logs import REQUEST_ID

_SANE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def init_app(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _SANE.match(given) else uuid.uuid4().hex[:16]
        g.request_id = rid
        g.request_id_token = REQUEST_ID.set(rid)

    @app.after_request
    def _echo(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            REQUEST_ID.reset(token)
