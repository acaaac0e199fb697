"""Citizens' pages beside the report form: the one response to an answer, and the public list.

* ``POST /lacak/tanggapan``: the reporter's response (satisfied / not satisfied, with a comment) from
  the tracking page, through ``runner.services.responses.respond`` in one transaction; rate limited
  like the report form (``web/abuse.py``). A second response, or one racing the first, is told so
  (409) on the tracking page; nothing else changes.
* ``GET /laporan/<sop_id>``: answered reports that are neither anonymous nor confidential, newest
  first, keyset-paginated (``?setelah=<n>``), when the SOP's definition allows it (``public_list``).
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response

from runner import services
from runner.errors import AlreadyResponded, InvalidInput, NotAllowed, NotFound
from runner.services import responses
from runner.store import Case

from . import db

bp = Blueprint("citizens", __name__)


@bp.app_template_global("reporter_response")
def reporter_response(case: Case) -> responses.GivenResponse | None:
    """The reporter's response stored on ``case``, for the staff case page (which only its viewers
    reach: the access policy decided before the page was rendered)."""
    return responses.given_response(case)


def _invalid_message(exc: InvalidInput) -> str:
    """The service's reason, worded for the reporter in their language."""
    text = str(exc)
    if text.startswith("choose"):
        return _("Choose whether the answer satisfies you.")
    if text.startswith("say why"):
        return _("Please say in the comment why the answer does not satisfy you.")
    if "longer than" in text:
        return _("The comment is longer than %(n)d characters.", n=responses.MAX_COMMENT)
    return _("The comment holds characters that cannot be stored.")


@bp.route("/lacak/tanggapan", methods=["POST"])
def respond() -> Response | tuple[str, int]:
    code = request.form.get("kode", "")
    verdict, comment = request.form.get("tanggapan"), request.form.get("komentar", "")
    error, status = None, 400
    try:
        with db.transaction() as s:
            case = responses.respond(s, db.registry(), code, verdict, comment)
            kode = case.tracking_code
        return redirect(url_for("public.track", kode=kode, tanggapan=1), code=303)
    except NotFound:
        error, status = _("No report has this tracking code. Check the code and try again."), 404
    except AlreadyResponded:
        error, status = _("Your response to this answer was already recorded. It can be sent once only."), 409
    except NotAllowed:
        error, status = _("This report cannot take a response now: the answer has not been given yet."), 409
    except InvalidInput as exc:
        error = _invalid_message(exc)
    view = state = None
    if status != 404:
        view = services.track(db.session(), db.registry(), code)
        state = responses.response_state(db.session(), db.registry(), code)
    return render_template("public/track.html", code=code, view=view, missing=status == 404, new=False,
                           response=state, response_error=error,
                           typed={"tanggapan": verdict or "", "komentar": comment[:responses.MAX_COMMENT]}), status


@bp.route("/laporan")
def lists() -> str:
    return render_template("public/reports_index.html", sops=responses.listed_sops(db.session(), db.registry()))


@bp.route("/laporan/<sop_id>")
def reports(sop_id: str) -> str:
    after = responses.parse_cursor(request.args.get("setelah"))  # junk: NotFound, 404
    page = responses.public_list(db.session(), db.registry(), sop_id, after=after)
    return render_template("public/reports.html", page=page, first=after is None)
