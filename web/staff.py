"""Staff pages: inbox, case list, a case with its history and the current step's form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers.response import Response

from runner import services
from runner.errors import CaseMovedOn, InvalidForm, InvalidInput, NotAllowed, StepOnHold
from runner.services import CaseView
from runner.services import pauses, recap, search
from runner.services.case_page import case_page
from runner.services.documents import case_map as case_map_svgs

from . import db
from .attachments import form_values
from .attachments import storage as uploads
from .i18n import text

bp = Blueprint("staff", __name__)
View = str | Response | tuple[str, int]


class _Id(IntegerConverter):
    """An id in an address is plain ASCII digits: Werkzeug's ``int`` also takes "١" (Arabic-Indic one)
    for case 1. Its range is the runner's rule (``_visible_case``): 0, or beyond the id column, is a 404."""

    regex = r"[0-9]+"


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    """Recorded before the routes below, so the converter exists when they are added to the app."""
    state.app.url_map.converters["id"] = _Id


@bp.before_request
@login_required
def _require_login() -> None:
    return None


@bp.route("/kotak-masuk")
def inbox() -> View:
    actor = current_user.actor
    s = db.session()
    deadline = services.deadline_filter_of(request.args.get("tenggat"))  # junk: NotFound, 404
    return render_template(
        "staff/inbox.html",
        waiting=services.waiting(s, db.registry(), actor, deadline=deadline),
        deadline=deadline, counts=services.waiting_counts(s, db.registry(), actor),
        escalated=services.escalated(s, db.registry(), actor),
        informed=services.for_information(s, db.registry(), actor),
        startable=services.startable_flows(s, db.registry(), actor),
    )


@bp.route("/kasus")
def cases() -> View:
    """Search and filter the cases one may see (runner.services.search); GET only, so a bookmark."""
    # ?hal= numbered the pages before keyset paging: an old bookmark opens the list's first page,
    # junk is still the 404 it always was.
    services.page_number(request.args.get("hal"))
    try:
        query = services.case_query_of(request.args)  # a value naming nothing: NotFound, 404
    except InvalidInput:  # a date that is no date, a text too long: say so above a fresh form
        return render_template("staff/cases.html", result=None, query=services.CaseQuery(), form={},
                               invalid=True), 400
    result = services.search_cases(db.session(), db.registry(), current_user.actor, query,
                                   per_page=search.PER_PAGE)
    if result.exact is not None:  # a tracking code or #number of a case this person may see
        return redirect(url_for("staff.case", case_id=result.exact))
    return render_template("staff/cases.html", result=result, query=query, form=query.args())


@bp.route("/kasus/baru/<sop_id>/<flow_id>", methods=["GET", "POST"])
def new_case(sop_id: str, flow_id: str) -> View:
    sop, flow = services.startable_flow(db.session(), db.registry(), sop_id, flow_id,
                                        current_user.actor)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            with db.transaction() as s:
                case = services.start_case(s, db.registry(), sop.id, flow.id, form_values(),
                                           actor=current_user.actor, storage=uploads())
            flash(_("Case created. Tracking code: %(code)s", code=case.tracking_code))
            return redirect(url_for("staff.case", case_id=case.id))
        except InvalidForm as exc:
            errors = exc.errors
    return render_template("staff/new_case.html", sop=sop, flow=flow, values=values, errors=errors,
                           units={}), (400 if errors else 200)


@bp.route("/kasus/<id:case_id>", methods=["GET", "POST"])
def case(case_id: int) -> View:
    actor = current_user.actor
    if request.method == "GET":
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, view.initial)
    submitted = request.form.to_dict()
    version = request.form.get("version", type=int)
    if version is None:
        abort(400)
    try:
        with db.transaction() as s:
            case = services.perform_step(s, db.registry(), case_id, actor, request.form.get("action", ""),
                                         form_values(), expected_version=version, storage=uploads())
            after = services.after_step(db.registry(), case, actor)
    except InvalidForm as exc:
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, {**view.initial, **submitted}, errors=exc.errors, status=400)
    except CaseMovedOn:
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, view.initial, moved_on=True, unsaved=_unsaved(view, submitted), status=409)
    except StepOnHold:
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, view.initial, on_hold=True, unsaved=_unsaved(view, submitted), status=409)
    except NotAllowed as exc:
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, view.initial, refused=exc, unsaved=_unsaved(view, submitted), status=403)
    flash(_("Saved. The case is now at: %(step)s", step=text(after.state_name)))
    return redirect(url_for("staff.case", case_id=case_id) if after.yours else url_for("staff.inbox"))


@bp.route("/kasus/<id:case_id>/tunda", methods=["POST"])
def pause(case_id: int) -> View:
    """Put the open step on hold (Tunda) with one of the step's reasons; the clock stops."""
    return _pause_or_resume(case_id, lambda s, version: pauses.pause_case(
        s, db.registry(), case_id, current_user.actor, request.form.get("reason", ""),
        request.form.get("note", ""), expected_version=version), _("The step is on hold; its clock has stopped."))


@bp.route("/kasus/<id:case_id>/lanjutkan", methods=["POST"])
def resume(case_id: int) -> View:
    """Take the open step off hold: it is due the working time that was left when it was paused."""
    return _pause_or_resume(case_id, lambda s, version: pauses.resume_case(
        s, db.registry(), case_id, current_user.actor, expected_version=version),
        _("The step is resumed; its clock runs again."))


def _pause_or_resume(case_id: int, change: Any, done: str) -> View:
    version = request.form.get("version", type=int)
    if version is None:
        abort(400)
    actor = current_user.actor
    try:
        with db.transaction() as s:
            change(s, version)
    except CaseMovedOn:
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, view.initial, moved_on=True, status=409)
    except InvalidInput:
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, view.initial, pause_invalid=True, status=400)
    except NotAllowed as exc:
        view = services.case_view(db.session(), db.registry(), case_id, actor)
        return _render_case(view, view.initial, refused=exc, status=403)
    flash(done)
    return redirect(url_for("staff.case", case_id=case_id))


@bp.route("/kasus/<id:case_id>/rekap.<fmt>")
def recap_download(case_id: int, fmt: str) -> Response:
    """The recap case's report as CSV or XLSX: whoever may view the case (NotFound otherwise)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    view = services.case_view(db.session(), db.registry(), case_id, current_user.actor)
    report = recap.report_for_case(db.session(), db.registry(), view.case)
    if report is None:
        abort(404)
    locale = str(get_locale())
    if fmt == "csv":
        response = Response(recap.to_csv(report, locale), mimetype="text/csv; charset=utf-8")
    else:
        response = Response(recap.to_xlsx(report, locale),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="rekap-{report.sop_id}-{report.period}.{fmt}"'
    return response


def _unsaved(view: CaseView, submitted: dict[str, str]) -> list[tuple[Any, str]]:
    """What the person typed into a form that could not be saved, so they can copy it, not lose it."""
    activity = view.sop.activity(submitted.get("step", ""))
    if activity is None:
        return []
    return [(f, submitted[f.id]) for f in activity.fields if str(submitted.get(f.id, "")).strip()]


def _render_case(view: CaseView, values: dict[str, Any], *, errors: dict[str, Any] | None = None,
                 status: int = 200, **flags: Any) -> tuple[str, int]:
    figures = recap.report_for_case(db.session(), db.registry(), view.case) if view.flow.schedule else None
    case_map = case_map_svgs(db.session(), view.case, view.sop, str(get_locale()))
    pause = pauses.pause_state(view.sop, view.case, current_user.actor)
    return render_template("staff/case.html", view=view, page=case_page(view), values=values, errors=errors or {},
                           figures=figures, case_map=case_map, pause=pause, **flags), status
