"""Service errors become HTTP answers with a readable page, never a traceback."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from runner.errors import CaseMovedOn, NotAllowed, NotFound


def init_app(app) -> None:
    def page(status: int, title: str, message: str):
        return render_template("error.html", title=title, message=message, status=status), status

    # The runner's own messages are English and meant for logs and the CLI; people get these.
    app.register_error_handler(NotFound, lambda e: page(404, _("Not found"), _("There is nothing here by that name.")))
    app.register_error_handler(NotAllowed, lambda e: page(
        403, _("Not allowed"), _("Your role and unit do not give access to this. Nothing was changed.")))
    app.register_error_handler(CaseMovedOn, lambda e: page(
        409, _("This case has moved on"), _("Someone acted on this case first. Nothing of yours was saved.")))
    app.register_error_handler(CSRFError, lambda e: page(
        400, _("The form has expired"), _("Reload the page and submit the form again. Nothing was saved.")))
    app.register_error_handler(400, lambda e: page(400, _("The form could not be read"),
                                                   _("Reload the page and submit the form again. Nothing was saved.")))
    app.register_error_handler(404, lambda e: page(404, _("Not found"), _("There is no page at this address.")))
    app.register_error_handler(405, lambda e: page(405, _("Not allowed"), _("This address does not accept that request.")))
    app.register_error_handler(413, lambda e: page(413, _("Too large"), _("The form sent is too large.")))
    app.register_error_handler(500, lambda e: page(500, _("Something went wrong"),
                                                   _("The error was logged. Nothing was saved; please try again.")))
