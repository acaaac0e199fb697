"""Staff pages: inbox, case list, a case with its history and the current step's form."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from runner import services
from runner.errors import CaseMovedOn, InvalidForm, NotAllowed, NotFound

from . import db

bp = Blueprint("staff", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


@bp.route("/kotak-masuk")
def inbox():
    actor = current_user.actor
    s = db.session()
    return render_template(
        "staff/inbox.html",
        waiting=services.waiting(s, db.registry(), actor),
        informed=services.for_information(s, db.registry(), actor),
        startable=services.startable_flows(db.registry(), actor),
    )


@bp.route("/kasus")
def cases():
    open_only = request.args.get("semua") != "1"
    try:
        page = max(1, int(request.args.get("hal", "1")))
    except ValueError:
        page = 1
    rows = services.browse(db.session(), db.registry(), current_user.actor, open_only=open_only, page=page, per_page=50)
    return render_template("staff/cases.html", rows=rows, open_only=open_only, page=page, has_next=len(rows) == 50)


@bp.route("/kasus/baru/<sop_id>/<flow_id>", methods=["GET", "POST"])
def new_case(sop_id: str, flow_id: str):
    sop = db.registry().get(sop_id)
    flow = sop.flow(flow_id) if sop else None
    if flow is None or flow.schedule is not None:
        abort(404)
    if not set(flow.started_by) & current_user.actor.roles:
        raise NotAllowed(f"no role of this user may start flow {flow.id}")
    errors, values = {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            with db.transaction() as s:
                case = services.start_case(s, db.registry(), sop.id, flow.id, values, actor=current_user.actor)
            flash(_("Case created. Tracking code: %(code)s", code=case.tracking_code))
            return redirect(url_for("staff.case", case_id=case.id))
        except InvalidForm as exc:
            errors = exc.errors
    return render_template("staff/new_case.html", sop=sop, flow=flow, values=values, errors=errors,
                           units={}), (400 if errors else 200)


@bp.route("/kasus/<int:case_id>", methods=["GET", "POST"])
def case(case_id: int):
    if request.method == "GET":
        view = _view_or_404(case_id)
        return _render_case(view, view.initial)
    actor = current_user.actor
    submitted = request.form.to_dict()
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    try:
        with db.transaction() as s:
            services.perform_step(s, db.registry(), case_id, actor, request.form.get("action", ""), submitted,
                                  expected_version=version)
    except InvalidForm as exc:
        view = _view_or_404(case_id)
        return _render_case(view, {**view.initial, **submitted}, errors=exc.errors, status=400)
    except CaseMovedOn:
        view = _view_or_404(case_id)
        return _render_case(view, view.initial, moved_on=True, unsaved=_unsaved(view, submitted), status=409)
    except NotAllowed:
        view = _view_or_404(case_id)
        return _render_case(view, view.initial, refused=True, unsaved=_unsaved(view, submitted), status=403)
    view = services.case_view(db.session(), db.registry(), case_id, actor)  # whoever acted may read it
    flash(_("Saved. The case is now at: %(step)s", step=view.sop.state_name(view.case.state)))
    return redirect(url_for("staff.case", case_id=case_id) if view.can_act else url_for("staff.inbox"))


def _unsaved(view, submitted: dict) -> list:
    """What the person typed into a form that could not be saved, so they can copy it, not lose it."""
    activity = view.sop.activity(submitted.get("step", ""))
    if activity is None:
        return []
    return [(f, submitted[f.id]) for f in activity.fields if str(submitted.get(f.id, "")).strip()]


def _render_case(view, values, *, errors=None, status: int = 200, **flags):
    figures = None
    if view.case.period and view.flow.schedule:
        figures = services.period_figures(db.session(), db.registry(), view.sop, view.case.period)
    return render_template("staff/case.html", view=view, values=values, errors=errors or {}, figures=figures,
                           **flags), status


def _view_or_404(case_id: int):
    try:
        return services.case_view(db.session(), db.registry(), case_id, current_user.actor)
    except NotFound:
        abort(404)
