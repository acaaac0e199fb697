"""Service errors become HTTP answers with a readable page, never a traceback.

The runner's own messages are English and meant for logs and the CLI; people get these translated
pages. Errors the runner logs itself (refusals, conflicts) are not logged twice; faults are.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from runner.errors import (
    CaseMovedOn, InvalidInput, NotAllowed, NotFound, ReadOnly, StorageError, StoredVersionError,
)

from . import problems

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    def page(status: int, title: str, message: str, allow: Any = None) -> Any:
        if problems.wants_problem():  # under /api/ (no API handler saw it: no route, 405): RFC 9457
            return problems.for_status(status, headers={"Allow": ", ".join(allow)} if allow else None)
        return render_template("error.html", title=title, message=message, status=status), status

    def not_found(_e: Exception) -> tuple[str, int]:
        return page(404, _("Not found"), _("There is nothing here by that name."))

    def not_allowed(_e: Exception) -> tuple[str, int]:
        return page(403, _("Not allowed"), _("Your role and unit do not give access to this. Nothing was changed."))

    def moved_on(_e: Exception) -> tuple[str, int]:
        return page(409, _("This case has moved on"), _("Someone acted on this case first. Nothing of yours was saved."))

    def invalid_input(_e: Exception) -> tuple[str, int]:
        return page(400, _("The form could not be read"),
                    _("Reload the page and submit the form again. Nothing was saved."))

    def unreadable_version(e: Exception) -> tuple[str, int]:
        log.error("stored definition version cannot be read: %s", e)
        return page(503, _("This case's SOP version cannot be read"),
                    _("The version of the SOP this case runs on cannot be read. The problem was logged; "
                      "ask the administrator to check it. Nothing was changed."))

    def storage(_e: Exception) -> tuple[str, int]:
        return page(503, _("Not saved"), _("The database refused the change. The problem was logged; "
                                           "nothing was saved. Please try again."))

    def read_only(_e: Exception) -> tuple[str, int]:  # by design, not a fault: not logged
        return page(503, _("Read-only"), _("This installation is read-only; nothing can be changed."))

    app.register_error_handler(NotFound, not_found)
    app.register_error_handler(NotAllowed, not_allowed)
    app.register_error_handler(CaseMovedOn, moved_on)
    app.register_error_handler(InvalidInput, invalid_input)
    app.register_error_handler(StoredVersionError, unreadable_version)
    app.register_error_handler(StorageError, storage)
    app.register_error_handler(ReadOnly, read_only)  # the most specific class wins

    def csrf(e: CSRFError) -> tuple[str, int]:
        if e.description == "The CSRF token has expired.":  # flask_wtf.csrf.validate_csrf's text
            limit = app.config.get("WTF_CSRF_TIME_LIMIT") or 0
            return page(400, _("The form has expired"), _(
                "This form was opened more than %(hours)d hours ago, so for your safety it can no longer "
                "be sent. Nothing was saved. Go back with your browser's Back button, copy what you wrote, "
                "reload the page and send it again.",
                hours=max(1, round(limit / 3600))))
        return page(400, _("The form has expired"), _("Reload the page and submit the form again. Nothing was saved."))

    app.register_error_handler(CSRFError, csrf)
    app.register_error_handler(400, lambda e: page(400, _("The form could not be read"),
                                                   _("Reload the page and submit the form again. Nothing was saved.")))
    app.register_error_handler(404, lambda e: page(404, _("Not found"), _("There is no page at this address.")))
    app.register_error_handler(405, lambda e: page(405, _("Not allowed"), _("This address does not accept that request."),
                                                   allow=getattr(e, "valid_methods", None)))
    def too_large(_e: Exception) -> tuple[str, int]:
        if request.blueprint == "admin":  # the definition editor: say what the limit is
            from runner.yamlsource import MAX_BYTES

            return page(413, _("Too large"), _(
                "The definition is larger than %(limit)s bytes, the most a definition may be. Nothing was saved.",
                limit=f"{MAX_BYTES:,}"))
        from .attachments import UPLOAD_ENDPOINTS

        if request.endpoint in UPLOAD_ENDPOINTS:  # a form with files: say how much it may carry
            limit = int(app.config.get("SOP_UPLOAD_LIMIT") or 0)
            return page(413, _("Too large"), _(
                "The files sent are larger than %(limit)s MB in all, the most one form may carry. Nothing was "
                "saved. Go back, choose fewer or smaller files, and send the form again.",
                limit=max(1, limit // (1024 * 1024))))
        return page(413, _("Too large"), _("The form sent is too large."))

    app.register_error_handler(413, too_large)
    app.register_error_handler(500, lambda e: page(500, _("Something went wrong"),
                                                   _("The error was logged. Nothing was saved; please try again.")))
